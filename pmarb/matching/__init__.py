"""Which markets on two venues are the same contract: blocking, propositions, adjudication.

The matcher fails closed. A pair is tradable only when every field of the two settlement
propositions is known and agrees; anything unparsed, ambiguous or contradicted is not tradable.
"""
