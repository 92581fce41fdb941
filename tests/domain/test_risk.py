from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from pmarb.domain.risk import RiskLimits


def test_seed_profile_defaults() -> None:
    limits = RiskLimits()
    assert limits.bankroll == D("500")
    assert limits.per_market_limit == D("50")
    assert limits.per_venue_limit == D("250")
    assert limits.daily_loss_limit == D("50")


def test_ratchet_floor_is_twenty_percent_below_the_peak() -> None:
    assert RiskLimits().floor_for(D("800")) == D("640")


def test_out_of_range_fractions_are_rejected() -> None:
    with pytest.raises(ValidationError):
        RiskLimits(ratchet_stop_pct=D("1.5"))
