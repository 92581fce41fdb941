"""The pessimistic backtest: recorded books and oracle ticks replayed through the live scanner,
strategies, allocator, risk rules and paper fill model."""
