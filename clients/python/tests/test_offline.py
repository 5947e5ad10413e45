"""What needs no server: SigV4 signing for execute-api, the error mapping, parsing refusals."""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional

import pytest
from botocore.credentials import Credentials

from caretaker_client import CaretakerApiError, CaretakerClient, ModelVersion, SchemaMismatch, from_json


class Recorder:
    def __init__(self, status: int = 202, body: Any = None, reason: str = "Accepted") -> None:
        self.sent: List[Dict[str, Any]] = []
        self.status, self.body, self.reason = status, body, reason

    def __call__(self, method: str, url: str, headers: Mapping[str, str], data: Optional[bytes]) -> "tuple[int, str, str]":
        self.sent.append({"method": method, "url": url, "headers": {k.lower(): v for k, v in headers.items()}, "data": data})
        text = self.body if isinstance(self.body, str) else json.dumps(self.body if self.body is not None else {"runId": "churn-api-x"})
        return self.status, self.reason, text


def test_signs_with_sigv4_for_execute_api_in_the_url_region_and_never_sends_the_local_header() -> None:
    recorder = Recorder()
    client = CaretakerClient(
        "https://abc123.execute-api.eu-west-1.amazonaws.com/v1",
        credentials=Credentials("AKIDEXAMPLE", "secret", "session"),
        transport=recorder,
    )
    assert client.retrain("churn", reason="drift", idempotency_key="abc").run_id == "churn-api-x"
    [request] = recorder.sent
    assert request["url"] == "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/models/churn/retrain"
    assert re.match(
        r"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/execute-api/aws4_request, "
        r"SignedHeaders=[a-z0-9;-]*content-type;[a-z0-9;-]*idempotency-key;[a-z0-9;-]*x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$",
        request["headers"]["authorization"],
    ), request["headers"]["authorization"]
    assert request["headers"]["x-amz-security-token"] == "session"
    assert "x-caretaker-principal" not in request["headers"]
    assert json.loads(request["data"]) == {"reason": "drift"}


def test_local_mode_names_the_caller_and_signs_nothing() -> None:
    recorder = Recorder(200, {"models": []})
    CaretakerClient("http://127.0.0.1:4010/v1/", local_principal="arn:aws:sts::111122223333:assumed-role/DataScientist/alice", transport=recorder).list_models()
    [request] = recorder.sent
    assert request["headers"]["x-caretaker-principal"] == "arn:aws:sts::111122223333:assumed-role/DataScientist/alice"
    assert "authorization" not in request["headers"]


def test_asks_for_a_region_when_the_url_does_not_name_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(ValueError, match="region"):
        CaretakerClient("https://api.example.com/", credentials=Credentials("a", "b"))


def test_an_error_without_a_json_body_still_has_status_and_code() -> None:
    client = CaretakerClient("http://127.0.0.1:1/v1/", local_principal="p", transport=Recorder(502, "<html>Bad Gateway</html>", "Bad Gateway"))
    with pytest.raises(CaretakerApiError) as error:
        client.list_models()
    assert (error.value.status, error.value.code, error.value.details) == (502, "HTTP502", [])
    assert "Bad Gateway" in error.value.message


def test_path_segments_are_escaped() -> None:
    recorder = Recorder(200, {"runId": "a/b", "model": "m", "status": "RUNNING", "requestedBy": "p", "trigger": {"kind": "api", "id": "k", "reason": "r"}, "datasetVersion": "v1", "startedAt": "t"})
    CaretakerClient("http://127.0.0.1:1/v1/", local_principal="p", transport=recorder).get_run("a/b?c")
    assert recorder.sent[0]["url"] == "http://127.0.0.1:1/v1/runs/a%2Fb%3Fc"


def test_parsing_names_the_field_that_does_not_fit() -> None:
    with pytest.raises(SchemaMismatch, match=r"ModelVersion.version: expected an integer"):
        from_json(ModelVersion, {"version": "1"})
    with pytest.raises(SchemaMismatch, match=r"ModelVersion.runId: required"):
        from_json(ModelVersion, {"model": "m", "version": 1, "status": "LIVE"})


class Scripted:
    """Answers ``statuses`` in turn (then 202), recording each request's Idempotency-Key;
    ``"network"`` raises what urllib raises when the connection fails (``URLError``, an ``OSError``)."""

    def __init__(self, statuses: List[Any], body: Any) -> None:
        self.statuses, self.body = list(statuses), body
        self.keys: List[Optional[str]] = []

    def __call__(self, method: str, url: str, headers: Mapping[str, str], data: Optional[bytes]) -> "tuple[int, str, str]":
        import urllib.error

        self.keys.append({k.lower(): v for k, v in headers.items()}.get("idempotency-key"))
        status = self.statuses.pop(0) if self.statuses else 202
        if status == "network":
            raise urllib.error.URLError("connection reset by peer")
        if status >= 300:
            return status, "Error", json.dumps({"error": "Unavailable" if status == 503 else "Conflict", "message": "scripted"})
        return status, "Accepted", json.dumps(self.body)


def _scripted_client(transport: Scripted) -> CaretakerClient:
    counter = iter(range(1, 100))
    return CaretakerClient("http://127.0.0.1:1/v1/", local_principal="p", transport=transport, retry_delay=0, new_idempotency_key=lambda: f"key-{next(counter)}")


def test_retrain_without_a_key_sends_one_of_its_own_and_keeps_it_for_retries_after_503_and_a_network_failure() -> None:
    transport = Scripted([503, "network"], {"runId": "churn-api-x"})
    client = _scripted_client(transport)
    assert client.retrain("churn", reason="drift").run_id == "churn-api-x"
    assert transport.keys == ["key-1", "key-1", "key-1"]
    client.retrain("churn", reason="drift")
    assert transport.keys[-1] == "key-2"


def test_rollback_sends_a_key_per_call_and_retries_only_transient_answers() -> None:
    body = {"deploymentId": "churn-rollback-x", "model": "churn", "version": 1}
    retried = Scripted([502, 429, 504], body)
    with pytest.raises(CaretakerApiError) as error:
        _scripted_client(retried).rollback("churn", 1, "regressed")
    assert error.value.status == 504 and retried.keys == ["key-1", "key-1", "key-1"]
    given = Scripted([503], body)
    assert _scripted_client(given).rollback("churn", 1, "regressed", idempotency_key="rb-7").deployment_id == "churn-rollback-x"
    assert given.keys == ["rb-7", "rb-7"]
    refused = Scripted([409], body)
    with pytest.raises(CaretakerApiError):
        _scripted_client(refused).rollback("churn", 1, "regressed")
    assert refused.keys == ["key-1"]
