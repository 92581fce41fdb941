"""The one way pmarb connects to Temporal: with pmarb's data converter (pydantic JSON)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.service import RPCError, TLSConfig

from pmarb.workers.converter import data_converter
from pmarb.workflows import search_attributes


async def connect_client(
    address: str,
    *,
    namespace: str = "default",
    api_key: str | None = None,
    tls: bool = False,
) -> Client:
    return await Client.connect(
        address,
        namespace=namespace,
        api_key=api_key,
        tls=TLSConfig() if tls or api_key else False,
        data_converter=data_converter,
    )


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register any missing custom search attribute; return the names added.

    The dev server gets them from start-up flags; a self-hosted cluster needs this call. Temporal
    Cloud refuses it (attributes are managed in its console), which surfaces as an RPCError.
    """
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )

    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = [
        key.name for key in search_attributes.ALL if key.name not in listed.custom_attributes
    ]
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes=dict.fromkeys(
                    missing, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                ),
            )
        )
    except RPCError as e:
        raise RuntimeError(
            f"search attributes {missing} are missing and could not be registered ({e.message}); "
            "register them as Keyword attributes in the namespace settings"
        ) from e
    return missing
