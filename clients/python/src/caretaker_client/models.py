"""Typed results of the Caretaker API: one dataclass per JSON object the API returns.

Field names are the API's camelCase names in snake_case (``runId`` -> ``run_id``); maps keyed by
data (``metrics``, ``hyperparameters``, ``profile``) keep their keys. ``from_json`` builds a
result from a decoded response. Fields the API adds later are kept in ``extra`` (never lost);
``strict=True`` refuses them instead, which is how the tests check these classes against what
the API really answers. ``tests/test_openapi.py`` checks operations, parameters, request bodies
and the error shape against ``openapi.json``.
"""
from __future__ import annotations

import dataclasses
import re
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, Generic, Iterable, Iterator, List, Optional, TypeVar, Union

T = TypeVar("T")

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


_KEYWORDS = {"from"}


def snake(name: str) -> str:
    """``datasetVersion`` -> ``dataset_version`` (the mapping every field follows; ``from`` -> ``from_``)."""
    return name + "_" if name in _KEYWORDS else _CAMEL.sub(r"_\1", name).lower()


def camel(name: str) -> str:
    if name.endswith("_"):
        return name[:-1]
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class SchemaMismatch(ValueError):
    """A response does not have the shape its dataclass describes (path names the field)."""


def _hints(cls: type) -> Dict[str, Any]:
    return typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))


def _convert(tp: Any, value: Any, path: str, strict: bool) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union:
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _convert(options[0], value, path, strict)
        for option in options:
            try:
                return _convert(option, value, path, strict)
            except SchemaMismatch:
                continue
        raise SchemaMismatch(f"{path}: {value!r} matches none of {options}")
    if tp is Any:
        return value
    if origin in (list, List):
        if not isinstance(value, list):
            raise SchemaMismatch(f"{path}: expected a list, got {type(value).__name__}")
        return [_convert(args[0], item, f"{path}[{i}]", strict) for i, item in enumerate(value)]
    if origin in (dict, Dict):
        if not isinstance(value, dict):
            raise SchemaMismatch(f"{path}: expected an object, got {type(value).__name__}")
        return {k: _convert(args[1], v, f"{path}.{k}", strict) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, path, strict)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaMismatch(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaMismatch(f"{path}: expected an integer, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp) or (tp is not bool and isinstance(value, bool)):
            raise SchemaMismatch(f"{path}: expected {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"{path}: unsupported annotation {tp!r}")


def _from_dict(cls: type, data: Any, path: str, strict: bool) -> Any:
    if not isinstance(data, dict):
        raise SchemaMismatch(f"{path}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
    values: Dict[str, Any] = {}
    extra: Dict[str, Any] = {}
    for key, value in data.items():
        name = snake(key)
        if name in fields:
            values[name] = _convert(hints[name], value, f"{path}.{key}", strict)
        elif strict:
            raise SchemaMismatch(f"{path}.{key}: the API answers a field {cls.__name__} does not declare (add `{name}` to caretaker_client.models.{cls.__name__})")
        else:
            extra[key] = value
    for name, f in fields.items():
        if name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
            raise SchemaMismatch(f"{path}.{camel(name)}: required by {cls.__name__}, missing")
    if "extra" in {f.name for f in dataclasses.fields(cls)}:
        values["extra"] = extra
    return cls(**values)


def from_json(cls: typing.Type[T], data: Any, strict: bool = False) -> T:
    """Builds ``cls`` from a decoded JSON response; ``strict`` refuses fields it does not declare."""
    return _from_dict(cls, data, cls.__name__, strict)


def to_record(value: Any) -> Any:
    """A result as plain data (snake_case keys), for a DataFrame row or ``json.dumps``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_record(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "extra"}
        out.update(getattr(value, "extra", {}) or {})
        return out
    if isinstance(value, list):
        return [to_record(v) for v in value]
    if isinstance(value, dict):
        return {k: to_record(v) for k, v in value.items()}
    return value


def to_dataframe(items: Iterable[Any]) -> Any:
    """A pandas DataFrame with one row per result (nested objects flattened with ``.``)."""
    try:
        import pandas  # type: ignore[import-not-found]
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("to_dataframe() needs pandas: pip install 'caretaker-client[pandas]' (or pandas)") from error
    return pandas.json_normalize([to_record(item) for item in items])


# --------------------------------------------------------------------------------------------
# Models and versions (lambdas/shared/contracts.ts, lambdas/api/ports.ts, lambdas/api/domain.ts)


@dataclass(frozen=True)
class Objective:
    metric_name: str
    direction: str  # "maximize" | "minimize"


@dataclass(frozen=True)
class LatestVersion:
    version: int
    status: str
    created_at: str


@dataclass(frozen=True)
class Bounds:
    min: Optional[float] = None
    max: Optional[float] = None


@dataclass(frozen=True)
class Gate:
    min_improvement: float
    #: Absolute bounds per metric name.
    thresholds: Dict[str, Bounds]


@dataclass(frozen=True)
class ModelSummary:
    name: str
    dataset_name: str
    objective: Objective
    approval_timeout_seconds: int
    description: Optional[str] = None
    approvers: Optional[List[str]] = None
    require_distinct_role: Optional[bool] = None
    gate: Optional[Gate] = None
    drift_alarm_name: Optional[str] = None
    #: The SageMaker endpoint the model deploys to.
    endpoint_name: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ModelListItem(ModelSummary):
    live_version: Optional[int] = None
    latest_version: Optional[LatestVersion] = None


@dataclass(frozen=True)
class MetricComparison:
    metric_name: str
    direction: str
    candidate: float
    champion: Optional[float] = None
    champion_version: Optional[int] = None


@dataclass(frozen=True)
class Decision:
    decision: str  # "APPROVED" | "REJECTED"
    by: str
    reason: str
    at: str


@dataclass(frozen=True)
class Trigger:
    kind: str  # "api" | "alarm" | "schedule" | "new-data"
    id: str
    reason: str


@dataclass(frozen=True)
class Failure:
    state: str
    error: str
    cause: str


@dataclass(frozen=True)
class Rejection:
    """Who rejected a run's version, why and when (the approval callback's cause)."""

    by: str
    reason: str
    at: str


@dataclass(frozen=True)
class FailedDeployment:
    """A version's last deployment that failed or was abandoned: its run, when, and where it stopped."""

    run_id: str
    at: str
    state: Optional[str] = None
    error: Optional[str] = None
    cause: Optional[str] = None


@dataclass(frozen=True)
class Suppression:
    reason: str  # "in-progress" | "cooldown" | "daily-cap" | "duplicate" | "no-dataset" | ...
    detail: str


@dataclass(frozen=True)
class Run:
    """A pipeline run; for a retraining request that started none, status is "QUEUED" or "SUPPRESSED" (with ``suppression``) and the run-only fields are None."""

    run_id: str
    model: str
    status: str
    requested_by: Optional[str] = None
    trigger: Optional[Trigger] = None
    dataset_version: Optional[str] = None
    started_at: Optional[str] = None
    requested_at: Optional[str] = None
    decided_at: Optional[str] = None
    suppression: Optional[Suppression] = None
    execution_arn: Optional[str] = None
    version: Optional[int] = None
    current_state: Optional[str] = None
    failure: Optional[Failure] = None
    comparison: Optional[MetricComparison] = None
    ended_at: Optional[str] = None
    reason: Optional[str] = None
    # QUEUED API requests: "OWED" while recorded but not yet on the retraining queue, then "SENT"
    send_state: Optional[str] = None
    rejection: Optional[Rejection] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: int
    status: str
    run_id: str
    requested_by: str
    dataset_name: str
    dataset_version: str
    training_job_name: str
    model_artifact_uri: str
    image_uri: str
    instance_type: str
    hyperparameters: Dict[str, str]
    metrics: Dict[str, float]
    comparison: MetricComparison
    evaluation_report_uri: str
    created_at: str
    updated_at: str
    decision: Optional[Decision] = None
    endpoint_config_name: Optional[str] = None
    deployed_at: Optional[str] = None
    endpoint_name: Optional[str] = None
    approval_requested_at: Optional[str] = None
    #: When a pending approval expires (the pipeline stops waiting).
    approval_expires_at: Optional[str] = None
    deploying_run_id: Optional[str] = None
    ended_by: Optional[str] = None
    baseline_uri: Optional[str] = None
    training_data_uri: Optional[str] = None
    retired_at: Optional[str] = None
    #: A decision's delivery to the pipeline: OWED, DELIVERED or CLOSED (see DecisionResult).
    delivery_state: Optional[str] = None
    delivered_at: Optional[str] = None
    delivery_closed_at: Optional[str] = None
    #: The status a rollback moved it out of (DEPLOYING by a rollback only).
    status_before_deploy: Optional[str] = None
    #: The SageMaker model its deployment created (batch scoring transforms with it).
    model_name: Optional[str] = None
    #: The endpoint config the deploying run rolls out (DEPLOYING only).
    deploying_endpoint_config_name: Optional[str] = None
    last_failed_deployment: Optional[FailedDeployment] = None
    #: The drift baseline of a LIVE version: PENDING, READY or FAILED (with ``baseline_error``).
    baseline_status: Optional[str] = None
    baseline_error: Optional[str] = None
    baseline_at: Optional[str] = None
    #: Only in ``get_version``: the run that trained it.
    run: Optional[Run] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Deployment:
    model: str
    version: int
    at: str
    status: Optional[str] = None
    endpoint_config_name: Optional[str] = None
    #: Deployment records carry more fields (endpoint, kind, …); they are kept here.
    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ModelDetail:
    model: ModelSummary
    deployments: List[Deployment]
    live: Optional[ModelVersion] = None


@dataclass(frozen=True)
class DecisionResult:
    model: str
    version: int
    status: str
    decision: Decision
    # DELIVERED, OWED (recorded; the sweep or a retry delivers it) or CLOSED (the task was already closed)
    delivery: str
    message: Optional[str] = None


@dataclass(frozen=True)
class RetrainResult:
    run_id: str


@dataclass(frozen=True)
class RollbackResult:
    deployment_id: str
    model: str
    version: int
    # True when this answered a repeat (same Idempotency-Key) of a rollback already recorded
    replayed: Optional[bool] = None


@dataclass(frozen=True)
class GroundTruthResult:
    key: str
    records: int
    #: True when the same records were uploaded before (the same object, audited once).
    replayed: Optional[bool] = None


@dataclass(frozen=True)
class Caller:
    """Who the API takes the caller to be: the canonical principal the audit records."""

    id: str
    kind: str
    person: str
    role_arn: Optional[str] = None
    session_name: Optional[str] = None


@dataclass(frozen=True)
class DecisionCheck:
    model: str
    version: int
    status: str
    caller: str
    #: Whether approve/reject would pass the API's rules now.
    allowed: bool
    reason: Optional[str] = None
    expires_at: Optional[str] = None


@dataclass(frozen=True)
class TimelineState:
    """One state the run's execution entered (``GET /runs/{runId}/timeline``)."""

    state: str
    #: The ASL state type: Task, Choice, Wait, Pass, Succeed, Fail …
    type: str
    #: started, training, evaluation, waiting for approval, deploying, live or failed.
    phase: str
    entered_at: str
    #: succeeded, failed, caught (a Catch moved on) or running.
    outcome: str
    #: Attempts after the first.
    retries: int
    exited_at: Optional[str] = None
    duration_ms: Optional[int] = None
    error: Optional[str] = None
    #: Cut to 1000 characters.
    cause: Optional[str] = None


@dataclass(frozen=True)
class TimelinePhase:
    phase: str
    entered_at: str
    #: succeeded, failed or running.
    outcome: str
    exited_at: Optional[str] = None
    duration_ms: Optional[int] = None


@dataclass(frozen=True)
class TimelineFailure:
    error: str
    state: Optional[str] = None
    cause: Optional[str] = None


@dataclass(frozen=True)
class RunTimeline:
    """A run's states as a timeline from its execution history, grouped into phases."""

    run_id: str
    execution_arn: str
    #: The run record's status.
    status: str
    #: RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED, from the history.
    execution_status: str
    started_at: str
    phases: List[TimelinePhase]
    states: List[TimelineState]
    stopped_at: Optional[str] = None
    duration_ms: Optional[int] = None
    failure: Optional[TimelineFailure] = None
    #: The history was longer than one request reads; the newest events are missing.
    truncated: Optional[bool] = None


@dataclass(frozen=True)
class Scores:
    metrics: Dict[str, float]


@dataclass(frozen=True)
class Holdout:
    rows: Optional[int] = None


@dataclass(frozen=True)
class EvaluationReport:
    candidate: Scores
    champion: Optional[Scores] = None
    holdout: Optional[Holdout] = None


@dataclass(frozen=True)
class Evaluation:
    model: str
    version: int
    objective: Objective
    #: None when the report object is gone.
    report: Optional[EvaluationReport]
    comparison: MetricComparison
    gate: Optional[Gate]
    evaluation_report_uri: str


@dataclass(frozen=True)
class MetricSeries:
    timestamps: List[str]
    values: List[float]


@dataclass(frozen=True)
class FeatureMetrics:
    feature: str
    psi: MetricSeries
    js_distance: MetricSeries
    ks_statistic: MetricSeries


@dataclass(frozen=True)
class AlarmStatus:
    name: str
    state: str  # "OK" | "ALARM" | "INSUFFICIENT_DATA"
    reason: Optional[str] = None
    updated_at: Optional[str] = None


@dataclass(frozen=True)
class ModelMetrics:
    model: str
    from_: str
    to: str
    period_seconds: int
    drift_score: MetricSeries
    model_quality: MetricSeries
    captured_records: MetricSeries
    features: List[FeatureMetrics]
    alarm: Optional[AlarmStatus]


@dataclass(frozen=True)
class DriftReportList:
    """``GET /models/{model}/drift/reports``: window ids (the window's end, ``20261122T103000Z``), newest first."""

    items: List[str]
    #: The last window of this page; absent on the last page.
    next_token: Optional[str] = None


@dataclass(frozen=True)
class DriftReportWindow:
    """``GET /models/{model}/drift/reports/{window}``: the window's report.json as the analyzer wrote it
    (format ``caretaker.drift-report/1``, camelCase keys as written: per feature PSI/KS/JS and the
    baseline and current histograms)."""

    model: str
    window: str
    report: Dict[str, Any]


# --------------------------------------------------------------------------------------------
# Datasets (lambdas/datasets/records.ts, queries.ts)


@dataclass(frozen=True)
class DatasetSummary:
    dataset: str
    models: List[str]
    versions: int
    latest_version: Optional[str] = None
    latest_passed_version: Optional[str] = None
    updated_at: Optional[str] = None


@dataclass(frozen=True)
class ValidationStatus:
    status: str  # "PASSED" | "FAILED" | "PENDING"


@dataclass(frozen=True)
class DatasetVersionListItem:
    dataset: str
    dataset_version: str
    content_address: str
    row_count: int
    registered_by: str
    created_at: str
    validation: ValidationStatus
    #: How many objects the version has.
    objects: int


@dataclass(frozen=True)
class DatasetObject:
    bucket: str
    key: str
    version_id: str
    sha256: str
    size: int
    rows: int


@dataclass(frozen=True)
class DatasetValidation:
    status: str
    reasons: List[str]
    #: Population stability index per column against the previous passed version.
    shift: Optional[Dict[str, Any]] = None


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class DatasetSchema:
    source: str  # "config" | "declared" | "inferred"
    columns: List[Column]


@dataclass(frozen=True)
class DatasetVersion:
    dataset: str
    dataset_version: str
    sequence: int
    content_address: str
    objects: List[DatasetObject]
    validation: DatasetValidation
    schema: DatasetSchema
    row_count: int
    #: Per-column statistics, keyed by column name.
    profile: Dict[str, Dict[str, Any]]
    registered_by: str
    created_at: str
    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class RegisterResult:
    record: DatasetVersion
    #: False when the same bytes were registered before and that version is returned.
    created: bool


# --------------------------------------------------------------------------------------------
# Audit


@dataclass(frozen=True)
class AuditEvent:
    event_id: str
    model: str
    at: str
    type: str
    actor: str
    version: Optional[int] = None
    run_id: Optional[str] = None
    reason: Optional[str] = None
    details: Optional[Dict[str, Any]] = None
    extra: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


# --------------------------------------------------------------------------------------------
# Lists


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``next_token`` is absent on the last page."""

    items: List[T]
    next_token: Optional[str] = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def to_dataframe(self) -> Any:
        return to_dataframe(self.items)


@dataclass(frozen=True)
class ModelList:
    models: List[ModelListItem]

    def __iter__(self) -> Iterator[ModelListItem]:
        return iter(self.models)

    def to_dataframe(self) -> Any:
        return to_dataframe(self.models)


@dataclass(frozen=True)
class DatasetList:
    datasets: List[DatasetSummary]

    def __iter__(self) -> Iterator[DatasetSummary]:
        return iter(self.datasets)

    def to_dataframe(self) -> Any:
        return to_dataframe(self.datasets)


def page_of(item_type: type, data: Any, strict: bool) -> Page[Any]:
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise SchemaMismatch("Page: expected an object with an items list")
    unknown = set(data) - {"items", "nextToken"}
    if strict and unknown:
        raise SchemaMismatch(f"Page.{sorted(unknown)[0]}: not a field of Page")
    items = [_from_dict(item_type, item, f"Page.items[{i}]", strict) for i, item in enumerate(data["items"])]
    token = data.get("nextToken")
    return Page(items=items, next_token=token if isinstance(token, str) else None)
