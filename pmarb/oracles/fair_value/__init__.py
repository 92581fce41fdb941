"""Settlement-aware fair values: what each market settles on, and closed-form models pricing it.

The scanner maps a market to its settlement spec (:func:`settlement_for`), keeps estimators fed
from the oracle feeds, and asks :func:`price_crypto` or :func:`bracket_probability` for P(YES)
and its uncertainty as Decimals.
"""

from pmarb.oracles.fair_value.estimators import BasisEstimator, RealizedVolatility
from pmarb.oracles.fair_value.models import (
    NO_BASIS,
    Basis,
    Comparison,
    FairValue,
    InvalidModelInput,
    Volatility,
    average_digital,
    average_up_down,
    spot_digital,
    up_down_spot,
)
from pmarb.oracles.fair_value.pricing import CryptoInputs, price_crypto
from pmarb.oracles.fair_value.settlement import (
    CryptoSettlement,
    Reference,
    Settlement,
    SettlementIndex,
    UnknownSettlement,
    WeatherSettlement,
    settlement_for,
)
from pmarb.oracles.fair_value.weather import (
    EmpiricalError,
    NormalError,
    TemperatureBracket,
    bracket_probabilities,
    bracket_probability,
    ladder,
)

__all__ = [
    "NO_BASIS",
    "Basis",
    "BasisEstimator",
    "Comparison",
    "CryptoInputs",
    "CryptoSettlement",
    "EmpiricalError",
    "FairValue",
    "InvalidModelInput",
    "NormalError",
    "RealizedVolatility",
    "Reference",
    "Settlement",
    "SettlementIndex",
    "TemperatureBracket",
    "UnknownSettlement",
    "Volatility",
    "WeatherSettlement",
    "average_digital",
    "average_up_down",
    "bracket_probabilities",
    "bracket_probability",
    "ladder",
    "price_crypto",
    "settlement_for",
    "spot_digital",
    "up_down_spot",
]
