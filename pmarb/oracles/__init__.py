"""Oracle feeds (crypto exchanges, Polymarket RTDS/Chainlink, weather services) and the
settlement-aware fair-value models the scanner prices oracle-lag opportunities with."""
