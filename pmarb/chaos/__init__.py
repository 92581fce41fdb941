"""``pmarb chaos``: opportunity lifecycles against the simulator while processes die.

The real processes run as subprocesses (embedded PostgreSQL, the Temporal dev server, the
exchange simulator, ``pmarb worker`` and ``pmarb marketdata``, which runs OpportunityWorkflow and
its order activities). The chaos driver starts lifecycles with real opportunities priced from the
simulator's books, SIGKILLs the trading worker at aimed points, restarts Temporal once and stops
PostgreSQL once, then checks that nothing was traded twice, lost or left one-legged.
"""
