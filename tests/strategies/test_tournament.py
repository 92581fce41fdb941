from datetime import date, timedelta
from decimal import Decimal as D

from pmarb.strategies.tournament import (
    Allocation,
    AllocationStatus,
    StrategyRecord,
    max_drawdown,
    reallocate,
    sharpe_ratio,
)

TODAY = date(2026, 11, 25)


def record(
    name: str,
    pnl: list[str],
    trades: int = 20,
    fraction: str | None = "0.2",
    status: AllocationStatus = AllocationStatus.ACTIVE,
    paused_on: date | None = None,
) -> StrategyRecord:
    return StrategyRecord(
        name,
        tuple(D(p) for p in pnl),
        trades,
        trades // 2,
        None if fraction is None else D(fraction),
        status,
        paused_on,
    )


def by_name(allocations: list[Allocation]) -> dict[str, Allocation]:
    return {a.strategy: a for a in allocations}


def test_equal_allocation_at_start() -> None:
    allocations, _ = reallocate([record(n, [], 0, None) for n in "abcde"], D("500"), TODAY)
    assert [a.fraction for a in allocations] == [D("0.2")] * 5


def test_winners_gain_linear_to_sharpe_bottom_halved_too_few_trades_kept() -> None:
    records = [
        record("steady", ["5", "6", "5", "6", "5", "6", "5"]),
        record("good", ["10", "-2", "8", "1", "9", "-1", "7"]),
        record("weak", ["1", "-1", "1", "-1", "1", "0", "0"]),
        record("loser", ["-3", "2", "-2", "1", "-1", "2", "-1"], fraction="0.2"),
        record("fresh", ["50"], trades=3, fraction="0.2"),
    ]
    allocations, performances = reallocate(records, D("500"), TODAY)
    result = by_name(allocations)
    sharpes = {p.strategy: p.sharpe for p in performances}
    assert result["fresh"].fraction == D("0.2") and "3 trades" in result["fresh"].reason
    assert result["loser"].fraction == D("0.1") and result["loser"].reason.startswith("halved")
    winners = ("steady", "good", "weak")
    assert all((sharpes[name] or 0) > 0 for name in winners)
    # Kept and halved shares stay; the rest is split among winners in proportion to Sharpe.
    pool = 1 - D("0.2") - D("0.1")
    total = sum(sharpes[name] or 0 for name in winners)
    for name in winners:
        expected = pool * (sharpes[name] or 0) / total
        assert abs(result[name].fraction - expected) <= D("0.000001"), name
    assert D("0.99999") < sum(a.fraction for a in allocations) <= 1


def test_deep_losers_are_paused_and_come_back_later() -> None:
    records = [
        record("bad", ["-9", "-8", "-9", "-7", "-9", "-9", "-8"]),
        record("ok", ["1", "2", "1", "2", "1", "2", "1"]),
    ]
    result = by_name(reallocate(records, D("500"), TODAY)[0])
    assert result["bad"].status is AllocationStatus.PAUSED and result["bad"].fraction == 0
    still = record("bad", [], 0, fraction="0", status=AllocationStatus.PAUSED, paused_on=TODAY)
    later = by_name(reallocate([still, records[1]], D("500"), TODAY + timedelta(days=3))[0])
    assert later["bad"].status is AllocationStatus.PAUSED
    back = by_name(reallocate([still, records[1]], D("500"), TODAY + timedelta(days=7))[0])
    assert back["bad"].status is AllocationStatus.ACTIVE and back["bad"].fraction == D("0.05")


def test_new_strategy_enters_with_minimum() -> None:
    records = [
        record("old", ["1", "2", "1", "2", "1", "2", "1"], fraction="1"),
        record("new", [], 0, None),
    ]
    result = by_name(reallocate(records, D("500"), TODAY)[0])
    assert result["new"].fraction == D("0.05")
    assert result["old"].fraction == D("0.95")


def test_sharpe_and_drawdown() -> None:
    assert sharpe_ratio([D("1")], D("100")) is None
    assert sharpe_ratio([D("1"), D("1")], D("100")) == D(100)
    assert max_drawdown([D("5"), D("-3"), D("-4"), D("2"), D("10")]) == D("7")
