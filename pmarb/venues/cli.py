"""``pmarb book replay`` and ``pmarb fees``: inspect books and fees without a network."""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

book_app = typer.Typer(
    help="Order books: replay recorded WebSocket messages.", no_args_is_help=True
)


class VenueChoice(StrEnum):
    POLYMARKET = "polymarket"
    KALSHI = "kalshi"


class Convention(StrEnum):
    AUTO = "auto"
    TRUE = "true"
    FALSE = "false"


def _note(message: str) -> None:
    sys.stderr.write(f"pmarb: {message}\n")


@book_app.command("replay")
def replay(
    file: Annotated[Path, typer.Argument(help="JSON lines of raw messages, or a JSON array.")],
    venue: Annotated[VenueChoice, typer.Option("--venue", help="Whose protocol the file holds.")],
    use_yes_price: Annotated[
        Convention,
        typer.Option(
            "--use-yes-price",
            help="Kalshi only: the subscription's NO-side price convention "
            "(auto: from a recorded subscribe command, else inferred).",
        ),
    ] = Convention.AUTO,
) -> None:
    """Print each instrument's book after the last message, as one JSON object."""
    from pmarb.venues.replay import read_messages, replay_kalshi, replay_polymarket

    try:
        messages = read_messages(file)
    except OSError as e:
        _note(f"cannot read {file}: {e.strerror or e}")
        raise typer.Exit(1) from None
    if venue is VenueChoice.POLYMARKET:
        result = replay_polymarket(messages)
    else:
        flag = None if use_yes_price is Convention.AUTO else use_yes_price is Convention.TRUE
        result = replay_kalshi(messages, flag)
    for note in result.notes:
        _note(note)
    sys.stdout.write(json.dumps(result.books) + "\n")


def _decimal(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not a decimal number", param_hint=name) from None
    if not value.is_finite():
        raise typer.BadParameter(f"{text!r} is not a finite number", param_hint=name)
    return value


def fees(
    venue: Annotated[VenueChoice, typer.Option("--venue")],
    price: Annotated[str, typer.Option("--price", help="Price per contract, 0 < P < 1.")],
    count: Annotated[str, typer.Option("--count", help="Contracts (shares) in the fill.")],
    maker: Annotated[bool, typer.Option("--maker", help="A resting (maker) fill.")] = False,
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate", help="Fee coefficient (default: Kalshi 0.07/0.0175, Polymarket 0.07)."
        ),
    ] = None,
) -> None:
    """Print the fee in dollars for one fill of COUNT contracts at PRICE."""
    from pmarb.domain.fees import FeeSchedule
    from pmarb.domain.money import CENT, ZERO
    from pmarb.venues.fixedpoint import format_decimal
    from pmarb.venues.kalshi import fees as kalshi_fees
    from pmarb.venues.polymarket import fees as polymarket_fees

    p, c = _decimal("--price", price), _decimal("--count", count)
    if not ZERO < p < 1:
        raise typer.BadParameter("must lie strictly between 0 and 1", param_hint="--price")
    if c <= ZERO:
        raise typer.BadParameter("must be positive", param_hint="--count")
    r = None if rate is None else _decimal("--rate", rate)
    if r is not None and r < ZERO:
        raise typer.BadParameter("must not be negative", param_hint="--rate")
    if venue is VenueChoice.KALSHI:
        default = kalshi_fees.MAKER_RATE if maker else kalshi_fees.TAKER_RATE
        coefficient = default if r is None else r
        schedule = FeeSchedule(taker_rate=coefficient, maker_rate=coefficient, rounding_step=CENT)
        fee = schedule.fee(p, c, maker=maker)
        sys.stdout.write(f"{fee.quantize(CENT)}\n")
        return
    if maker:
        _note("Polymarket makers pay no fee (they may earn a rebate)")
        sys.stdout.write("0.00\n")
        return
    if r is None:
        _note("no --rate given: using the crypto taker rate 0.07; read the market's feeSchedule")
        r = polymarket_fees.CRYPTO_TAKER_RATE
    fee = polymarket_fees.schedule_from(r).fee(p, c)
    text = format_decimal(fee)
    if "." not in text or len(text.split(".")[1]) < 2:
        text = str(fee.quantize(CENT))
    sys.stdout.write(f"{text}\n")
