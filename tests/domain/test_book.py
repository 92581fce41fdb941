from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from pmarb.domain.book import BookSnapshot, Level, walk_book
from pmarb.domain.market import VenueId
from pmarb.domain.parity import Side

ASKS = (Level(D("0.50"), D("10")), Level(D("0.52"), D("5")), Level(D("0.55"), D("20")))
BIDS = (Level(D("0.48"), D("7")), Level(D("0.47"), D("3")))


def test_walk_three_levels_gives_exact_vwap_and_worst_price() -> None:
    walk = walk_book(ASKS, D("25"), Side.BUY)
    assert walk.complete
    assert walk.notional == D("10") * D("0.50") + D("5") * D("0.52") + D("10") * D("0.55")
    assert walk.vwap == D("13.1") / D("25")
    assert walk.worst_price == D("0.55")
    assert walk.fills == (
        Level(D("0.50"), D("10")),
        Level(D("0.52"), D("5")),
        Level(D("0.55"), D("10")),
    )


def test_walk_stops_at_visible_depth() -> None:
    walk = walk_book(ASKS, D("100"), Side.BUY)
    assert not walk.complete
    assert walk.filled == D("35")


def test_walk_honours_the_limit_price_on_both_sides() -> None:
    assert walk_book(ASKS, D("25"), Side.BUY, limit_price=D("0.52")).filled == D("15")
    assert walk_book(BIDS, D("10"), Side.SELL, limit_price=D("0.48")).filled == D("7")


def test_walk_of_an_empty_book_fills_nothing() -> None:
    walk = walk_book((), D("1"), Side.BUY)
    assert walk.filled == 0 and walk.vwap is None and walk.worst_price is None


def test_walk_rejects_a_non_positive_size() -> None:
    with pytest.raises(ValueError):
        walk_book(ASKS, D("0"), Side.BUY)


def test_snapshot_best_levels_and_sides() -> None:
    book = BookSnapshot(VenueId.KALSHI, "X", BIDS, ASKS, datetime.now(UTC))
    assert book.best_bid == BIDS[0] and book.best_ask == ASKS[0]
    assert book.levels_for(Side.BUY) is ASKS and book.levels_for(Side.SELL) is BIDS


def test_complement_maps_yes_book_to_no_book() -> None:
    yes = BookSnapshot(VenueId.KALSHI, "Y", BIDS, ASKS, datetime.now(UTC))
    no = yes.complement("N")
    assert no.best_bid == Level(D("0.50"), D("10"))  # a YES ask at 0.50 is a NO bid at 0.50
    assert no.best_ask == Level(D("0.52"), D("7"))  # a YES bid at 0.48 is a NO ask at 0.52
    assert no.complement("Y") == yes
