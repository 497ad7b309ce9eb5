"""A typed Python client for tagger's gRPC API (`tagger.v1.Tagger`).

    from tagger_client import Client

    with Client("127.0.0.1:50051") as client:
        result = client.tag("Oil prices rose as OPEC cut output", top_k=3)
        for tag in result.tags:
            print(tag.label, round(tag.score, 3))

`Client` is blocking; `AsyncClient` has the same methods as coroutines (and an async iterator for streams).
Both take a default deadline (`timeout`, seconds, per call), TLS (`tls=True` or PEM `root_certificates`) and the
server's bearer token (`token`). A failed call raises `TaggerError` with the gRPC status code and message.
"""

from ._client import (
    AsyncClient,
    Client,
    Evidence,
    ModelInfo,
    Tag,
    TaggerError,
    TagResult,
)

__all__ = ["AsyncClient", "Client", "Evidence", "ModelInfo", "Tag", "TaggerError", "TagResult"]
