from dataclasses import replace
from datetime import timedelta
from decimal import ROUND_FLOOR
from decimal import Decimal as D

from pmarb.domain.bid import ExecutionStyle
from pmarb.domain.orders import TimeInForce
from pmarb.strategies.arbitrage import atomic_arb, leg_and_hedge
from pmarb.strategies.base import BidContext, affordable_size
from pmarb.strategies.oracle import (
    OraclePatientParams,
    mean_reversion,
    oracle_patient,
    oracle_sniper,
)
from tests.strategies.builders import KALSHI_FEES, NOW, bundle, oracle

RICH = BidContext(budget=D("10000"), now=NOW)


def test_atomic_arb_profit_is_the_locked_in_payout_net_of_exact_fees() -> None:
    bid = atomic_arb(bundle("0.40", "0.50"), RICH)
    assert bid is not None and bid.style is ExecutionStyle.ATOMIC
    assert all(order.time_in_force is TimeInForce.FOK for order in bid.orders)
    poly_fee = D("100") * D("0.07") * D("0.40") * D("0.60")  # 1.68, unrounded
    kalshi_fee = D("1.75")  # 100 × 0.07 × 0.5 × 0.5, rounded up to the cent
    assert bid.expected_profit == D("100") * D("0.10") - poly_fee - kalshi_fee
    assert bid.capital == D("40") + poly_fee + D("50") + kalshi_fee


def test_no_arb_when_fees_eat_the_gap() -> None:
    assert atomic_arb(bundle("0.49", "0.50"), RICH) is None
    assert leg_and_hedge(bundle("0.49", "0.50"), RICH) is None


def test_budget_limits_size_and_fees_still_fit() -> None:
    bid = atomic_arb(bundle("0.40", "0.50"), BidContext(budget=D("45"), now=NOW))
    assert bid is not None
    assert bid.capital <= D("45")
    assert bid.size < D("100")
    assert atomic_arb(bundle("0.40", "0.50"), BidContext(budget=D("0.5"), now=NOW)) is None


def test_leg_and_hedge_sends_the_thinner_leg_first_and_hedges_with_slippage() -> None:
    bid = leg_and_hedge(bundle("0.40", "0.50", depth_yes="500", depth_no="120"), RICH)
    assert bid is not None and bid.style is ExecutionStyle.LEG_AND_HEDGE
    first, hedge = bid.orders
    assert first.leg == "no" and first.time_in_force is TimeInForce.FOK
    assert hedge.leg == "yes" and hedge.time_in_force is TimeInForce.FAK
    assert hedge.limit_price == D("0.41")
    assert bid.hedge_window_seconds == 5.0


def test_atomic_beats_leg_and_hedge_per_unit_of_risk() -> None:
    atomic = atomic_arb(bundle("0.40", "0.50"), RICH)
    legged = leg_and_hedge(bundle("0.40", "0.50"), RICH)
    assert atomic is not None and legged is not None
    assert atomic.score > legged.score


def test_oracle_sniper_needs_edge_beyond_fees_and_uncertainty() -> None:
    bid = oracle_sniper(oracle("0.50", "0.60"), RICH)
    assert bid is not None and bid.style is ExecutionStyle.SINGLE
    fee = D("1.75") / D("50") * D("50")  # 50 × 0.07 × 0.25 = 0.875 → 0.88
    assert bid.orders[0].expected_fee == D("0.88") and fee > 0
    assert bid.expected_profit == (D("0.60") - D("0.50")) * 50 - D("0.88")
    assert bid.max_loss == D("25") + D("0.88")
    assert oracle_sniper(oracle("0.50", "0.60", stdev="0.2"), RICH) is None
    assert oracle_sniper(oracle("0.50", "0.51"), RICH) is None


def test_oracle_patient_rests_inside_the_quote() -> None:
    bid = oracle_patient(oracle("0.50", "0.60"), RICH)
    assert bid is not None and bid.style is ExecutionStyle.RESTING
    order = bid.orders[0]
    assert order.limit_price == D("0.48") and order.post_only
    assert order.time_in_force is TimeInForce.GTD


def test_mean_reversion_fades_only_a_spike() -> None:
    assert mean_reversion(oracle("0.50", "0.55"), RICH) is None
    bid = mean_reversion(oracle("0.40", "0.60"), RICH)
    assert bid is not None and bid.style is ExecutionStyle.ROUND_TRIP
    assert bid.exit_price == D("0.50")
    assert bid.time_stop_seconds == 300.0


def test_affordable_size_respects_minimum_size() -> None:
    opportunity = bundle("0.40", "0.50")
    legs = tuple(
        type(leg)(**{**{f: getattr(leg, f) for f in leg.__slots__}, "min_size": D("5")})
        for leg in opportunity.legs
    )
    assert affordable_size(legs, D("100"), D("3")) == 0


def test_market_cap_limits_each_leg() -> None:
    capped = BidContext(budget=D("10000"), now=NOW, market_cap=D("25"))
    bid = atomic_arb(bundle("0.40", "0.50"), capped)
    assert bid is not None
    assert all(order.cash_needed <= D("25") for order in bid.orders)
    assert max(order.cash_needed for order in bid.orders) > D("24")


def test_an_oracle_bet_stakes_quarter_kelly_on_a_cautious_probability() -> None:
    # p = 0.62 ± 0.02 at 0.50: Kelly on 0.60 at an all-in cost c (fee included) is
    # (0.60 − c) / (1 − c); a quarter of it of a $100 bankroll is the stake.
    context = BidContext(budget=D("10000"), now=NOW, bankroll=D("100"))
    bid = oracle_sniper(oracle("0.50", "0.62", stdev="0.02", size="500"), context)
    assert bid is not None
    cost = D("0.50") + KALSHI_FEES.fee(D("0.50"), D("500")) / 500
    stake = D("0.25") * (D("0.60") - cost) / (1 - cost) * 100
    assert bid.size == (stake / cost).quantize(D("0.01"), rounding=ROUND_FLOOR)
    assert bid.orders[0].cash_needed <= stake + D("0.01")


def test_one_losing_oracle_bet_costs_at_most_the_directional_loss_cap() -> None:
    capped = BidContext(budget=D("10000"), now=NOW, bankroll=D("500"), directional_loss_cap=D("10"))
    for strategy in (oracle_sniper, oracle_patient, mean_reversion):
        bid = strategy(oracle("0.40", "0.60", stdev="0.01", size="500"), capped)
        assert bid is not None, strategy.__name__
        assert bid.max_loss == bid.orders[0].cash_needed <= D("10"), strategy.__name__
        assert bid.max_loss > D("9"), f"{strategy.__name__}: the cap, not the depth, binds"


def test_no_oracle_bet_when_the_edge_is_inside_the_models_uncertainty() -> None:
    context = BidContext(budget=D("10000"), now=NOW, bankroll=D("500"))
    # Fair 0.56 ± 0.05 against 0.50: the cautious 0.51 does not cover the fee.
    assert oracle_sniper(oracle("0.50", "0.56", stdev="0.05"), context) is None
    assert oracle_sniper(oracle("0.50", "0.56", stdev="0.005"), context) is not None


def test_oracle_patient_rests_for_minutes_and_gives_up_where_it_stops_paying() -> None:
    bid = oracle_patient(oracle("0.50", "0.60"), RICH)
    assert bid is not None
    order = bid.orders[0]
    assert bid.valid_until == NOW + timedelta(seconds=OraclePatientParams().rest_seconds)
    fee_per_unit = order.expected_fee / order.size
    assert bid.fair_value_floor == order.limit_price + fee_per_unit + D("0.01")
    assert order.limit_price < bid.fair_value_floor < D("0.60")


def test_oracle_patient_does_not_rest_into_the_markets_last_minutes() -> None:
    soon = replace(oracle("0.50", "0.60"), resolves_at=NOW + timedelta(minutes=4))
    assert oracle_patient(soon, RICH) is None
    later = replace(oracle("0.50", "0.60"), resolves_at=NOW + timedelta(minutes=6))
    assert oracle_patient(later, RICH) is not None
