"""The pre-trade risk rules as pure functions, shared by PostgreSQL and the backtest."""
