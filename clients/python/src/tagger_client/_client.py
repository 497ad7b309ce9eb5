"""The client classes. The gRPC stubs in `_pb` are generated from `proto/tagger/v1/tagger.proto` by
`clients/python/generate.sh` (grpcio-tools); this module turns their messages into frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterable, AsyncIterator, Iterable, Iterator, Optional, Sequence, Tuple, Union

import grpc
import grpc.aio

from ._pb import tagger_pb2 as pb
from ._pb import tagger_pb2_grpc as pb_grpc

#: A document: its text, or an `(id, text)` pair whose id comes back in the result.
Document = Union[str, Tuple[str, str]]


class TaggerError(Exception):
    """A call the server refused or could not finish: `code` is the gRPC status (`grpc.StatusCode`), `details`
    the server's message (INVALID_ARGUMENT names the limit a document broke, RESOURCE_EXHAUSTED means retry later,
    UNAUTHENTICATED a missing or wrong token; see the proto file)."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details

    @classmethod
    def _of(cls, err: grpc.RpcError) -> "TaggerError":
        code = err.code() if callable(getattr(err, "code", None)) else grpc.StatusCode.UNKNOWN
        details = err.details() if callable(getattr(err, "details", None)) else str(err)
        return cls(code or grpc.StatusCode.UNKNOWN, details or "")


@dataclass(frozen=True)
class Evidence:
    """A term that contributed to a tag, with where it occurs in the text (UTF-8 byte offsets, as on the wire)."""

    term: str
    contribution: float
    spans: Tuple[Tuple[int, int], ...] = ()

    def char_spans(self, text: str) -> list[Tuple[int, int]]:
        """The spans as offsets into the Python string `text` (the text the request sent)."""
        data = text.encode("utf-8")
        return [(len(data[:s].decode("utf-8")), len(data[:e].decode("utf-8"))) for s, e in self.spans]

    def snippets(self, text: str) -> list[str]:
        """The text of each span."""
        data = text.encode("utf-8")
        return [data[s:e].decode("utf-8") for s, e in self.spans]


@dataclass(frozen=True)
class Tag:
    """One chosen tag: its label (in the language asked for, for a model with a vocabulary), calibrated score,
    the concept's URI and notation when the model has a vocabulary, and evidence when asked for."""

    label: str
    score: float
    uri: str = ""
    notation: str = ""
    evidence: Tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class TagResult:
    """The tags of one document, best first, and the model (name and version) that chose them."""

    id: str
    tags: Tuple[Tag, ...]
    model: str
    model_version: str

    @property
    def labels(self) -> list[str]:
        return [t.label for t in self.tags]


@dataclass(frozen=True)
class ModelInfo:
    """A loaded model. `labels` is filled by `get_model` only; `training_metadata` is the parsed JSON the model
    recorded at training time (corpus, configuration, held-out metrics)."""

    name: str
    version: str
    label_count: int
    feature_count: int
    cv_micro_f1: float
    cv_macro_f1: float
    path: str
    language: str
    vocabulary_languages: Tuple[str, ...]
    concept_count: int
    is_default: bool = False
    labels: Tuple[str, ...] = ()
    training_metadata: dict = field(default_factory=dict, compare=False, repr=False)


def _request(doc: Document, model: str, top_k: int, min_score: Optional[float], explain: bool,
             language: str) -> pb.TagRequest:
    if isinstance(doc, str):
        doc_id, text = "", doc
    else:
        doc_id, text = doc
    if top_k < 0:
        raise ValueError(f"top_k must be ≥ 0, not {top_k}")
    req = pb.TagRequest(id=doc_id, text=text, model=model, top_k=top_k, explain=explain, language=language)
    if min_score is not None:
        req.min_score = min_score
    return req


def _result(r: pb.TagResponse) -> TagResult:
    tags = tuple(
        Tag(
            label=t.label,
            score=t.score,
            uri=t.uri,
            notation=t.notation,
            evidence=tuple(
                Evidence(e.term, e.contribution, tuple((s.start, s.end) for s in e.spans)) for e in t.evidence
            ),
        )
        for t in r.tags
    )
    return TagResult(id=r.id, tags=tags, model=r.model, model_version=r.model_version)


def _model(m: pb.ModelInfo, default: str = "") -> ModelInfo:
    try:
        meta = json.loads(m.training_metadata_json) if m.training_metadata_json else {}
    except ValueError:
        meta = {}
    return ModelInfo(
        name=m.name,
        version=m.version,
        label_count=m.label_count,
        feature_count=m.feature_count,
        cv_micro_f1=m.cv_micro_f1,
        cv_macro_f1=m.cv_macro_f1,
        path=m.path,
        language=m.language,
        vocabulary_languages=tuple(m.vocabulary_languages),
        concept_count=m.concept_count,
        is_default=bool(default) and m.name == default,
        labels=tuple(m.labels),
        training_metadata=meta,
    )


def _credentials(tls: bool, root_certificates: Optional[bytes]) -> Optional[grpc.ChannelCredentials]:
    if tls or root_certificates is not None:
        return grpc.ssl_channel_credentials(root_certificates=root_certificates)
    return None


class _Base:
    def __init__(self, address: str, model: str, timeout: Optional[float], token: Optional[str]):
        self.address = address
        self.model = model
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None

    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is None else timeout

    def _model_name(self, model: Optional[str]) -> str:
        return self.model if model is None else model


class Client(_Base):
    """A blocking client on one gRPC channel (thread-safe; reuse it).

    address: "host:port". model: the model requests use unless they name one ("" = the server's default).
    timeout: deadline of each call in seconds (None: no deadline). token: the server's --auth-token.
    tls / root_certificates: connect with TLS, trusting the system's roots or the given PEM bytes.
    channel_options: extra gRPC channel arguments, e.g. [("grpc.max_receive_message_length", 64 << 20)].
    """

    def __init__(self, address: str = "127.0.0.1:50051", *, model: str = "", timeout: Optional[float] = 30.0,
                 token: Optional[str] = None, tls: bool = False, root_certificates: Optional[bytes] = None,
                 channel_options: Sequence[Tuple[str, Any]] = ()):
        super().__init__(address, model, timeout, token)
        creds = _credentials(tls, root_certificates)
        options = list(channel_options)
        self._channel = (grpc.secure_channel(address, creds, options) if creds
                         else grpc.insecure_channel(address, options))
        self._stub = pb_grpc.TaggerStub(self._channel)

    def _call(self, method, request, timeout: Optional[float]):
        try:
            return method(request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            raise TaggerError._of(e) from None

    def tag(self, text: str, *, id: str = "", model: Optional[str] = None, top_k: int = 0,
            min_score: Optional[float] = None, explain: bool = False, language: str = "",
            timeout: Optional[float] = None) -> TagResult:
        """Tag one text. top_k=0 uses the model's calibrated decision; k > 0 the k best tags by score.
        min_score drops tags under it; language names the labels' language (models with a vocabulary)."""
        req = _request((id, text), self._model_name(model), top_k, min_score, explain, language)
        return _result(self._call(self._stub.Tag, req, timeout))

    def tag_batch(self, documents: Iterable[Document], *, model: Optional[str] = None, top_k: int = 0,
                  min_score: Optional[float] = None, explain: bool = False, language: str = "",
                  timeout: Optional[float] = None) -> list[TagResult]:
        """Tag several documents in one call (at most the server's --max-batch-docs); results in order."""
        m = self._model_name(model)
        req = pb.TagBatchRequest(documents=[_request(d, m, top_k, min_score, explain, language) for d in documents])
        return [_result(r) for r in self._call(self._stub.TagBatch, req, timeout).results]

    def tag_stream(self, documents: Iterable[Document], *, model: Optional[str] = None, top_k: int = 0,
                   min_score: Optional[float] = None, explain: bool = False, language: str = "",
                   timeout: Optional[float] = None) -> Iterator[TagResult]:
        """Tag a stream of documents (any iterable, read lazily); yields results in order as they come. The
        deadline (`timeout`, else the client's) covers the whole stream; 0 means none."""
        m = self._model_name(model)
        requests = (_request(d, m, top_k, min_score, explain, language) for d in documents)
        t = self._timeout(timeout)
        try:
            for r in self._stub.TagStream(requests, timeout=t or None, metadata=self._metadata):
                yield _result(r)
        except grpc.RpcError as e:
            raise TaggerError._of(e) from None

    def list_models(self, *, timeout: Optional[float] = None) -> list[ModelInfo]:
        """The loaded models (without labels); `is_default` marks the one requests get when they name none."""
        r = self._call(self._stub.ListModels, pb.ListModelsRequest(), timeout)
        return [_model(m, r.default_model) for m in r.models]

    def get_model(self, name: str = "", *, timeout: Optional[float] = None) -> ModelInfo:
        """One model with its labels ("" = the default model)."""
        return _model(self._call(self._stub.GetModel, pb.GetModelRequest(name=name), timeout))

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncClient(_Base):
    """The asyncio client: the same methods as `Client`, as coroutines; `tag_stream` is an async iterator and
    takes a plain or an async iterable of documents. Create it inside a running event loop."""

    def __init__(self, address: str = "127.0.0.1:50051", *, model: str = "", timeout: Optional[float] = 30.0,
                 token: Optional[str] = None, tls: bool = False, root_certificates: Optional[bytes] = None,
                 channel_options: Sequence[Tuple[str, Any]] = ()):
        super().__init__(address, model, timeout, token)
        creds = _credentials(tls, root_certificates)
        options = list(channel_options)
        self._channel = (grpc.aio.secure_channel(address, creds, options) if creds
                         else grpc.aio.insecure_channel(address, options))
        self._stub = pb_grpc.TaggerStub(self._channel)

    async def _call(self, method, request, timeout: Optional[float]):
        try:
            return await method(request, timeout=self._timeout(timeout), metadata=self._metadata)
        except grpc.RpcError as e:
            raise TaggerError._of(e) from None

    async def tag(self, text: str, *, id: str = "", model: Optional[str] = None, top_k: int = 0,
                  min_score: Optional[float] = None, explain: bool = False, language: str = "",
                  timeout: Optional[float] = None) -> TagResult:
        req = _request((id, text), self._model_name(model), top_k, min_score, explain, language)
        return _result(await self._call(self._stub.Tag, req, timeout))

    async def tag_batch(self, documents: Iterable[Document], *, model: Optional[str] = None, top_k: int = 0,
                        min_score: Optional[float] = None, explain: bool = False, language: str = "",
                        timeout: Optional[float] = None) -> list[TagResult]:
        m = self._model_name(model)
        req = pb.TagBatchRequest(documents=[_request(d, m, top_k, min_score, explain, language) for d in documents])
        return [_result(r) for r in (await self._call(self._stub.TagBatch, req, timeout)).results]

    async def tag_stream(self, documents: Union[Iterable[Document], AsyncIterable[Document]], *,
                         model: Optional[str] = None, top_k: int = 0, min_score: Optional[float] = None,
                         explain: bool = False, language: str = "",
                         timeout: Optional[float] = None) -> AsyncIterator[TagResult]:
        m = self._model_name(model)

        async def requests():
            if hasattr(documents, "__aiter__"):
                async for d in documents:
                    yield _request(d, m, top_k, min_score, explain, language)
            else:
                for d in documents:
                    yield _request(d, m, top_k, min_score, explain, language)

        t = self._timeout(timeout)
        try:
            async for r in self._stub.TagStream(requests(), timeout=t or None, metadata=self._metadata):
                yield _result(r)
        except grpc.RpcError as e:
            raise TaggerError._of(e) from None

    async def list_models(self, *, timeout: Optional[float] = None) -> list[ModelInfo]:
        r = await self._call(self._stub.ListModels, pb.ListModelsRequest(), timeout)
        return [_model(m, r.default_model) for m in r.models]

    async def get_model(self, name: str = "", *, timeout: Optional[float] = None) -> ModelInfo:
        return _model(await self._call(self._stub.GetModel, pb.GetModelRequest(name=name), timeout))

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
