"""The opportunity lifecycle, written once.

:mod:`pmarb.lifecycle.program` decides every step of one opportunity's life (bid, risk, legs,
hedge or unwind, hold, record) as a generator of :mod:`pmarb.lifecycle.steps`; it performs
nothing itself. Two drivers perform the steps: the OpportunityWorkflow, through Temporal
activities and timers (:mod:`pmarb.workflows.opportunity`), and the backtest, through its replay
exchange on the replay clock (:mod:`pmarb.backtest.driver`). The activities' own inner loops
(an unwind's rounds, a wait for a fill) are programs too (:mod:`pmarb.lifecycle.unwind`,
:mod:`pmarb.lifecycle.fills`), driven by the live activities and by the backtest alike. Every
timing constant and default lives in :mod:`pmarb.lifecycle.timing`.

Pure: domain types in, steps out; no I/O, no clock of its own, no Temporal. The workflow sandbox
passes the package through.
"""
