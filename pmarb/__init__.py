"""pmarb: prediction-market arbitrage with Temporal as the control plane."""

__version__ = "0.1.0"
