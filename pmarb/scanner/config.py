"""Scanner thresholds. Edges are per unit after fees; ages are seconds."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ScannerConfig:
    min_arb_edge: Decimal = Decimal("0.005")
    min_arb_profit: Decimal = Decimal("0.10")
    min_oracle_edge: Decimal = Decimal("0.02")
    # Oracle-lag trades need an edge of this many model standard deviations.
    oracle_stdevs: Decimal = Decimal("1.5")
    arb_validity_seconds: float = 5.0
    oracle_validity_seconds: float = 10.0
    # A gap that persists at the same prices is one opportunity per bucket, not one per update.
    dedupe_bucket_seconds: float = 60.0
    max_book_age_seconds: float = 10.0
    max_oracle_age_seconds: float = 5.0
    depth: int = 20
