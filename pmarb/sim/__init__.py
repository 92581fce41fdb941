"""Local exchange simulator speaking the Polymarket, Kalshi and Binance protocols.

An independent implementation of the venues' wire formats (it never imports
:mod:`pmarb.venues`). Public API: :class:`Simulator`, :class:`SimConfig` and the value types
below; see ``pmarb/sim/README.md``.
"""

from pmarb.sim.exchange import ReceivedOrder
from pmarb.sim.faults import FaultError, Faults
from pmarb.sim.simulator import BookView, MarketInfo, SimConfig, Simulator, SimUrls

__all__ = [
    "BookView",
    "FaultError",
    "Faults",
    "MarketInfo",
    "ReceivedOrder",
    "SimConfig",
    "SimUrls",
    "Simulator",
]
