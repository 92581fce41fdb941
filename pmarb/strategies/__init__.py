"""Pure, backtestable strategy functions: an opportunity and a budget in, a bid or None out.

No I/O, no clock, no Temporal: the same functions run in workflows, the backtest and tests.
"""
