"""The Caretaker registry and approval API from Python: the same operations as the TypeScript
client (``lib/client/index.ts``), standard-library HTTP, SigV4 for ``execute-api`` by botocore.

The deployed API authenticates with IAM: requests are signed with the standard AWS credential
chain (environment, profile, SSO, instance or container role; in a SageMaker notebook, its
execution role). Local mode (``npx caretaker local up``) does not sign; the caller is named in
``X-Caretaker-Principal`` (``local_principal=``), which only local mode reads.
"""
from __future__ import annotations

import json
import os
import re
import time
import uuid
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Type, TypeVar, Union

from . import models as m

T = TypeVar("T")

LOCAL_PRINCIPAL_HEADER = "X-Caretaker-Principal"
# Answers after which repeating a call with the same Idempotency-Key is safe and may succeed.
_TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
_REGION_IN_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")


@dataclass(frozen=True)
class ErrorDetail:
    message: str
    field: Optional[str] = None


class CaretakerApiError(Exception):
    """An error answer of the API (or of API Gateway in front of it): HTTP status, the error
    code (``Invalid``, ``Forbidden``, ``NotFound``, ``Conflict``, ``PayloadTooLarge``,
    ``Unavailable``, or ``HTTP<status>`` when the body names none) and field details."""

    def __init__(self, status: int, code: str, message: str, details: Sequence[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: List[ErrorDetail] = list(details)

    def __repr__(self) -> str:
        return f"CaretakerApiError(status={self.status}, code={self.code!r}, message={self.message!r}, details={self.details!r})"

    def __str__(self) -> str:
        fields = ", ".join(f"{d.field}: {d.message}" if d.field else d.message for d in self.details)
        return f"{self.status} {self.code}: {self.message}" + (f" ({fields})" if fields else "")


def _error_from(status: int, reason: str, text: str) -> CaretakerApiError:
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return CaretakerApiError(status, f"HTTP{status}", text[:200] or reason)
    details = [
        ErrorDetail(message=str(d.get("message", "")), field=d.get("field") if isinstance(d.get("field"), str) else None)
        for d in body.get("details") or []
        if isinstance(d, dict)
    ]
    code = body.get("error")
    message = body.get("message")
    return CaretakerApiError(
        status,
        code if isinstance(code, str) else f"HTTP{status}",
        message if isinstance(message, str) else (text[:200] or reason),
        details,
    )


Transport = Callable[[str, str, Mapping[str, str], Optional[bytes]], "tuple[int, str, str]"]
"""(method, url, headers, body) -> (status, reason, body text). Tests and proxies may pass their own."""


def _urllib_transport(timeout: float) -> Transport:
    def send(method: str, url: str, headers: Mapping[str, str], body: Optional[bytes]) -> "tuple[int, str, str]":
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the caller's API URL
                return response.status, response.reason, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, str(error.reason), error.read().decode("utf-8", errors="replace")

    return send


class CaretakerClient:
    """
    >>> client = CaretakerClient("https://abc123.execute-api.eu-west-1.amazonaws.com/v1/")
    >>> local = CaretakerClient("http://127.0.0.1:4010/v1/", local_principal="arn:aws:sts::111122223333:assumed-role/DataScientist/alice")

    ``strict=True`` refuses response fields the result classes do not declare (the tests use it).

    ``retrain`` and ``rollback`` send an ``Idempotency-Key`` on every call (the one given, else a
    fresh one per call) and, after a network failure, 429, 502, 503 or 504, send the same call
    again with the same key: ``attempts`` in all, waiting ``retry_delay`` × 2^(attempt − 1)
    seconds between them. One run or rollback per call, however often it is sent.
    """

    def __init__(
        self,
        base_url: str,
        *,
        region: Optional[str] = None,
        credentials: Any = None,
        local_principal: Optional[str] = None,
        timeout: float = 30.0,
        transport: Optional[Transport] = None,
        strict: bool = False,
        attempts: int = 3,
        retry_delay: float = 0.5,
        new_idempotency_key: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.local_principal = local_principal
        self.strict = strict
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self._new_idempotency_key = new_idempotency_key
        self._send = transport or _urllib_transport(timeout)
        self._signer: Any = None
        if local_principal is None:
            host = urllib.parse.urlsplit(self.base_url).hostname or ""
            found = _REGION_IN_HOST.search(host)
            self.region = region or (found.group(1) if found else None) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            if not self.region:
                raise ValueError("cannot tell the API's region: pass region= or set AWS_REGION")
            self._credentials = credentials
        else:
            if not local_principal.strip():
                raise ValueError("local_principal must name the caller, e.g. arn:aws:sts::111122223333:assumed-role/DataScientist/alice")
            self.region = region

    # ---- models and versions -------------------------------------------------------------

    def list_models(self) -> m.ModelList:
        return self._call(m.ModelList, "GET", ["models"])

    def get_model(self, model: str) -> m.ModelDetail:
        return self._call(m.ModelDetail, "GET", ["models", model])

    def list_versions(self, model: str, *, status: Optional[str] = None, limit: Optional[int] = None, next_token: Optional[str] = None) -> m.Page[m.ModelVersion]:
        return self._page(m.ModelVersion, ["models", model, "versions"], {"status": status, "limit": limit, "nextToken": next_token})

    def iter_versions(self, model: str, *, status: Optional[str] = None, page_size: Optional[int] = None) -> Iterator[m.ModelVersion]:
        """Every version, newest first, fetching pages as the iteration reaches them."""
        return self._iterate(lambda token: self.list_versions(model, status=status, limit=page_size, next_token=token))

    def get_version(self, model: str, version: int) -> m.ModelVersion:
        return self._call(m.ModelVersion, "GET", ["models", model, "versions", str(version)])

    def approve(self, model: str, version: int, reason: str) -> m.DecisionResult:
        return self._call(m.DecisionResult, "POST", ["models", model, "versions", str(version), "approve"], body={"reason": reason})

    def reject(self, model: str, version: int, reason: str) -> m.DecisionResult:
        return self._call(m.DecisionResult, "POST", ["models", model, "versions", str(version), "reject"], body={"reason": reason})

    def retrain(self, model: str, *, reason: str, dataset_version: Optional[str] = None, idempotency_key: Optional[str] = None) -> m.RetrainResult:
        """The same ``idempotency_key`` always yields the same run id and starts nothing new; without
        one, this call gets its own, kept for its retries."""
        body: Dict[str, Any] = {"reason": reason}
        if dataset_version is not None:
            body["datasetVersion"] = dataset_version
        return self._idempotent(idempotency_key, lambda headers: self._call(m.RetrainResult, "POST", ["models", model, "retrain"], body=body, headers=headers))

    def rollback(self, model: str, to_version: int, reason: str, *, idempotency_key: Optional[str] = None) -> m.RollbackResult:
        """Like ``retrain``: one ``Idempotency-Key`` per call (or the one given): one rollback per call."""
        body = {"toVersion": to_version, "reason": reason}
        return self._idempotent(idempotency_key, lambda headers: self._call(m.RollbackResult, "POST", ["models", model, "rollback"], body=body, headers=headers))

    def upload_ground_truth(self, model: str, records: Sequence[Mapping[str, Union[str, int, float, bool]]]) -> m.GroundTruthResult:
        """``records``: ``{"inferenceId": ..., "label": ...}`` per labelled prediction."""
        return self._call(m.GroundTruthResult, "POST", ["models", model, "ground-truth"], body={"records": [dict(r) for r in records]})

    def get_run(self, run_id: str) -> m.Run:
        return self._call(m.Run, "GET", ["runs", run_id])

    def get_run_timeline(self, run_id: str) -> m.RunTimeline:
        """The run's states from its execution history: phases and states with durations, retries, the failure cause."""
        return self._call(m.RunTimeline, "GET", ["runs", run_id, "timeline"])

    def who_am_i(self) -> m.Caller:
        """Who the API takes the caller to be: the canonical principal its audit records."""
        return self._call(m.Caller, "GET", ["caller"])

    def check_decision(self, model: str, version: int) -> m.DecisionCheck:
        """Whether the caller may approve or reject the version now, and why not."""
        return self._call(m.DecisionCheck, "GET", ["models", model, "versions", str(version), "decision-check"])

    def get_evaluation(self, model: str, version: int) -> m.Evaluation:
        """The version's evaluation report (candidate and champion on one holdout) with the gate's thresholds."""
        return self._call(m.Evaluation, "GET", ["models", model, "versions", str(version), "evaluation"])

    def model_metrics(self, model: str, *, from_: Optional[str] = None, to: Optional[str] = None) -> m.ModelMetrics:
        """Drift over a window (default the last 7 days): DriftScore, quality, per-feature PSI/JS/KS, the drift alarm."""
        return self._call(m.ModelMetrics, "GET", ["models", model, "metrics"], query={"from": from_, "to": to})

    def list_drift_reports(self, model: str, *, limit: Optional[int] = None, next_token: Optional[str] = None) -> m.DriftReportList:
        """Windows with a drift report, newest first (``next_token``: the last window of the previous page)."""
        return self._call(m.DriftReportList, "GET", ["models", model, "drift", "reports"], query={"limit": limit, "nextToken": next_token})

    def get_drift_report(self, model: str, window: str) -> m.DriftReportWindow:
        """One window's drift report (report.json)."""
        return self._call(m.DriftReportWindow, "GET", ["models", model, "drift", "reports", window])

    # ---- datasets ------------------------------------------------------------------------

    def list_datasets(self) -> m.DatasetList:
        return self._call(m.DatasetList, "GET", ["datasets"])

    def list_dataset_versions(self, dataset: str, *, limit: Optional[int] = None, next_token: Optional[str] = None) -> m.Page[m.DatasetVersionListItem]:
        return self._page(m.DatasetVersionListItem, ["datasets", dataset, "versions"], {"limit": limit, "nextToken": next_token})

    def iter_dataset_versions(self, dataset: str, *, page_size: Optional[int] = None) -> Iterator[m.DatasetVersionListItem]:
        return self._iterate(lambda token: self.list_dataset_versions(dataset, limit=page_size, next_token=token))

    def get_dataset_version(self, dataset: str, version: str) -> m.DatasetVersion:
        return self._call(m.DatasetVersion, "GET", ["datasets", dataset, "versions", version])

    def register_dataset_version(self, dataset: str, objects: Sequence[Mapping[str, str]], *, schema: Optional[Sequence[Mapping[str, Any]]] = None) -> m.RegisterResult:
        """Registers objects under ``datasets/<dataset>/`` (``{"key", "versionId"?, "sha256"?}``
        each) as the dataset's next version; ``created`` is False when the same bytes already are one."""
        body: Dict[str, Any] = {"objects": [dict(o) for o in objects]}
        if schema is not None:
            body["schema"] = [dict(c) for c in schema]
        return self._call(m.RegisterResult, "POST", ["datasets", dataset, "versions"], body=body)

    # ---- audit ---------------------------------------------------------------------------

    def list_audit(self, *, model: Optional[str] = None, from_: Optional[str] = None, to: Optional[str] = None, limit: Optional[int] = None, next_token: Optional[str] = None) -> m.Page[m.AuditEvent]:
        return self._page(m.AuditEvent, ["audit"], {"model": model, "from": from_, "to": to, "limit": limit, "nextToken": next_token})

    def iter_audit(self, *, model: Optional[str] = None, from_: Optional[str] = None, to: Optional[str] = None, page_size: Optional[int] = None) -> Iterator[m.AuditEvent]:
        return self._iterate(lambda token: self.list_audit(model=model, from_=from_, to=to, limit=page_size, next_token=token))

    # ---- plumbing ------------------------------------------------------------------------

    def _idempotent(self, given: Optional[str], call: Callable[[Mapping[str, str]], T]) -> T:
        """Sends ``call`` with one key, again after a transient failure, never with another key."""
        headers = {"Idempotency-Key": given if given is not None else self._new_idempotency_key()}
        attempt = 1
        while True:
            try:
                return call(headers)
            except CaretakerApiError as error:
                if error.status not in _TRANSIENT_STATUSES or attempt >= self.attempts:
                    raise
            except OSError:  # urllib's URLError, a timeout, a reset connection: the answer never came
                if attempt >= self.attempts:
                    raise
            time.sleep(self.retry_delay * 2 ** (attempt - 1))
            attempt += 1

    @staticmethod
    def _iterate(fetch: Callable[[Optional[str]], m.Page[T]]) -> Iterator[T]:
        token: Optional[str] = None
        while True:
            page = fetch(token)
            yield from page.items
            if not page.next_token:
                return
            token = page.next_token

    def _page(self, item_type: type, segments: Sequence[str], query: Mapping[str, Any]) -> m.Page[Any]:
        return m.page_of(item_type, self._request("GET", segments, query=query), self.strict)

    def _call(self, result: Type[T], method: str, segments: Sequence[str], *, body: Any = None, headers: Optional[Mapping[str, str]] = None, query: Optional[Mapping[str, Any]] = None) -> T:
        return m.from_json(result, self._request(method, segments, body=body, headers=headers, query=query), strict=self.strict)

    def _request(self, method: str, segments: Sequence[str], *, query: Optional[Mapping[str, Any]] = None, body: Any = None, headers: Optional[Mapping[str, str]] = None) -> Any:
        path = "/".join(urllib.parse.quote(str(s), safe="") for s in segments)
        params = [(k, str(v)) for k, v in (query or {}).items() if v is not None]
        url = urllib.parse.urljoin(self.base_url, path) + (("?" + urllib.parse.urlencode(params)) if params else "")
        data = None if body is None else json.dumps(body).encode("utf-8")
        sent: Dict[str, str] = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        if self.local_principal is not None:
            sent[LOCAL_PRINCIPAL_HEADER] = self.local_principal
        else:
            sent = self._sign(method, url, sent, data)
        status, reason, text = self._send(method, url, sent, data)
        if status >= 400:
            raise _error_from(status, reason, text)
        return json.loads(text) if text else None

    def _sign(self, method: str, url: str, headers: Mapping[str, str], data: Optional[bytes]) -> Dict[str, str]:
        # botocore is imported only when signing: local mode and tests of it need no AWS SDK.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        if self._signer is None:
            credentials = self._credentials
            if credentials is None:
                import botocore.session

                credentials = botocore.session.get_session().get_credentials()
                if credentials is None:
                    raise CaretakerApiError(0, "NoCredentials", "no AWS credentials found (environment, profile, SSO or instance role)")
            self._signer = SigV4Auth(credentials, "execute-api", self.region)
        request = AWSRequest(method=method, url=url, data=data or b"", headers=dict(headers))
        self._signer.add_auth(request)
        return dict(request.headers.items())
