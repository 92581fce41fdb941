"""The data converter of every pmarb client and worker: pydantic JSON, so Decimal round-trips.

temporalio's pydantic converter caches one ``TypeAdapter`` per type, but per converter
instance, and the worker builds a fresh payload converter for every workflow run. Each
OpportunityWorkflow start therefore rebuilt the pydantic schema of its input — 10 to 17 ms on
the decision path, measured by ``benchmarks/decision_latency_bench.py``. Here the cache is one
per process. The key is the type object itself, so a type the sandbox re-imports per run simply
misses; the modules on the order path are sandbox pass-through and hit.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

_adapter = functools.lru_cache(maxsize=1024)(TypeAdapter)


class _ProcessCachedJSONConverter(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        hint: Any = type_hint if type_hint is not None else Any
        try:
            hash(hint)
        except TypeError:
            return TypeAdapter(hint).validate_json(payload.data)
        return _adapter(hint).validate_json(payload.data)


class PmarbPayloadConverter(CompositePayloadConverter):
    def __init__(self) -> None:
        super().__init__(
            *(
                _ProcessCachedJSONConverter()
                if isinstance(converter, JSONPlainPayloadConverter)
                else converter
                for converter in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


data_converter = DataConverter(payload_converter_class=PmarbPayloadConverter)
