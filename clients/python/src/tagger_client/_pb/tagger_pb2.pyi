from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TagRequest(_message.Message):
    __slots__ = ("id", "text", "model", "top_k", "min_score", "explain", "language")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    model: str
    top_k: int
    min_score: float
    explain: bool
    language: str
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., model: _Optional[str] = ..., top_k: _Optional[int] = ..., min_score: _Optional[float] = ..., explain: _Optional[bool] = ..., language: _Optional[str] = ...) -> None: ...

class TagResponse(_message.Message):
    __slots__ = ("id", "tags", "model", "model_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    tags: _containers.RepeatedCompositeFieldContainer[Tag]
    model: str
    model_version: str
    def __init__(self, id: _Optional[str] = ..., tags: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class Tag(_message.Message):
    __slots__ = ("label", "score", "evidence", "uri", "notation")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    NOTATION_FIELD_NUMBER: _ClassVar[int]
    label: str
    score: float
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    uri: str
    notation: str
    def __init__(self, label: _Optional[str] = ..., score: _Optional[float] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ..., uri: _Optional[str] = ..., notation: _Optional[str] = ...) -> None: ...

class Evidence(_message.Message):
    __slots__ = ("term", "contribution", "spans")
    TERM_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    SPANS_FIELD_NUMBER: _ClassVar[int]
    term: str
    contribution: float
    spans: _containers.RepeatedCompositeFieldContainer[Span]
    def __init__(self, term: _Optional[str] = ..., contribution: _Optional[float] = ..., spans: _Optional[_Iterable[_Union[Span, _Mapping]]] = ...) -> None: ...

class Span(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class TagBatchRequest(_message.Message):
    __slots__ = ("documents",)
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[TagRequest]
    def __init__(self, documents: _Optional[_Iterable[_Union[TagRequest, _Mapping]]] = ...) -> None: ...

class TagBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TagResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[TagResponse, _Mapping]]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "default_model")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    default_model: str
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., default_model: _Optional[str] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "labels", "label_count", "feature_count", "training_metadata_json", "cv_micro_f1", "cv_macro_f1", "path", "language", "vocabulary_languages", "concept_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LABEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    FEATURE_COUNT_FIELD_NUMBER: _ClassVar[int]
    TRAINING_METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    CV_MICRO_F1_FIELD_NUMBER: _ClassVar[int]
    CV_MACRO_F1_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    VOCABULARY_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    CONCEPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    label_count: int
    feature_count: int
    training_metadata_json: str
    cv_micro_f1: float
    cv_macro_f1: float
    path: str
    language: str
    vocabulary_languages: _containers.RepeatedScalarFieldContainer[str]
    concept_count: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., label_count: _Optional[int] = ..., feature_count: _Optional[int] = ..., training_metadata_json: _Optional[str] = ..., cv_micro_f1: _Optional[float] = ..., cv_macro_f1: _Optional[float] = ..., path: _Optional[str] = ..., language: _Optional[str] = ..., vocabulary_languages: _Optional[_Iterable[str]] = ..., concept_count: _Optional[int] = ...) -> None: ...
