"""The client against the API in local mode (conftest starts ``caretaker local up``). Clients are
strict: a response field the dataclasses do not declare, or a declared required one missing,
fails the test — so the result classes are checked against what the API really answers."""
from __future__ import annotations

import os
import time

import pytest

from caretaker_client import (
    AuditEvent,
    CaretakerApiError,
    CaretakerClient,
    DatasetVersionListItem,
    ModelListItem,
    ModelVersion,
    Page,
    Run,
    to_dataframe,
)

from conftest import APPROVER, MODEL, REQUESTER, LocalMode, Trained, upload


def test_lists_models_and_datasets_as_typed_results(local: LocalMode, trained: Trained) -> None:
    models = local.client(APPROVER).list_models()
    churn = next(m for m in models if m.name == MODEL)
    assert isinstance(churn, ModelListItem)
    assert churn.objective.metric_name == "validation:auc" and churn.objective.direction == "maximize"
    assert churn.latest_version is not None and churn.latest_version.version == trained.version
    assert churn.latest_version.status == "PENDING_APPROVAL"
    datasets = local.client(APPROVER).list_datasets()
    churn_data = next(d for d in datasets if d.dataset == MODEL)
    assert churn_data.latest_version == trained.dataset_version and MODEL in churn_data.models


def test_shows_a_version_with_its_run_and_its_dataset(local: LocalMode, trained: Trained) -> None:
    bob = local.client(APPROVER)
    version = bob.get_version(MODEL, trained.version)
    assert isinstance(version, ModelVersion)
    assert (version.run_id, version.requested_by, version.dataset_version) == (trained.run_id, REQUESTER, trained.dataset_version)
    assert isinstance(version.metrics["validation:auc"], float) and version.metrics["validation:auc"] >= 0.7
    assert version.comparison.metric_name == "validation:auc"
    assert isinstance(version.run, Run) and version.run.run_id == trained.run_id
    run = bob.get_run(trained.run_id)
    assert run.trigger.kind == "api" and run.version == trained.version
    dataset = bob.get_dataset_version(MODEL, trained.dataset_version)
    assert dataset.validation.status == "PASSED" and dataset.objects[0].key == "datasets/churn/pytest/train.csv"
    assert dataset.row_count == 2000 and [c.name for c in dataset.schema.columns][0] == "tenure_months"
    detail = bob.get_model(MODEL)
    assert detail.model.name == MODEL and detail.live is None


def test_reads_the_evaluation_next_to_the_gate_and_the_drift_metrics(local: LocalMode, trained: Trained) -> None:
    bob = local.client(APPROVER)
    evaluation = bob.get_evaluation(MODEL, trained.version)
    assert evaluation.report is not None and evaluation.report.candidate.metrics["validation:auc"] == bob.get_version(MODEL, trained.version).metrics["validation:auc"]
    assert evaluation.gate is not None and evaluation.gate.thresholds["validation:auc"].min == 0.7
    metrics = bob.model_metrics(MODEL)
    assert metrics.model == MODEL and metrics.period_seconds >= 60 and metrics.from_ < metrics.to


def test_pages_are_iterators_that_follow_next_token(local: LocalMode, trained: Trained, churn_csv: "tuple[bytes, bytes]") -> None:
    alice = local.client(REQUESTER)
    key = "datasets/churn/pytest/validation.csv"
    second = alice.register_dataset_version(MODEL, [{"key": key, "versionId": upload(local, key, churn_csv[1])}]).record.dataset_version
    first_page = alice.list_dataset_versions(MODEL, limit=1)
    assert isinstance(first_page, Page) and len(first_page) == 1 and first_page.next_token
    assert [v.dataset_version for v in first_page] == [second]
    every = list(alice.iter_dataset_versions(MODEL, page_size=1))
    assert all(isinstance(v, DatasetVersionListItem) for v in every)
    assert [v.dataset_version for v in every][:2] == [second, trained.dataset_version]
    assert len({v.dataset_version for v in every}) == len(every)
    events = list(alice.iter_audit(model=MODEL, page_size=1))
    assert all(isinstance(e, AuditEvent) for e in events)
    assert any(e.type == "RUN_REQUESTED" and e.run_id == trained.run_id for e in events)
    # Paging by one gives exactly what one big page gives, in the same order.
    assert [(e.event_id, e.at) for e in events] == [(e.event_id, e.at) for e in alice.list_audit(model=MODEL, limit=100)]
    assert len(events) >= 2
    assert [v.version for v in alice.iter_versions(MODEL, status="PENDING_APPROVAL", page_size=1)] == [trained.version]


def test_retrain_with_the_same_idempotency_key_returns_the_same_run_and_starts_nothing(local: LocalMode, trained: Trained) -> None:
    alice = local.client(REQUESTER)
    def requests() -> int:
        return sum(1 for e in alice.iter_audit(model=MODEL) if e.type in ("RUN_REQUESTED", "RUN_SUPPRESSED"))
    before = requests()
    again = alice.retrain(MODEL, reason="first model from the notebook", dataset_version=trained.dataset_version, idempotency_key=trained.idempotency_key)
    assert again.run_id == trained.run_id
    time.sleep(2)  # the retraining queue is drained asynchronously: give a second request time to show
    assert requests() == before
    assert alice.get_run(trained.run_id).version == trained.version


def test_shows_the_run_waiting_for_approval_as_its_execution_timeline(local: LocalMode, trained: Trained) -> None:
    # Runs before the approval test: the trained run waits in WaitForApproval here.
    timeline = local.client(REQUESTER).get_run_timeline(trained.run_id)
    assert timeline.run_id == trained.run_id
    assert timeline.execution_status == "RUNNING"
    assert timeline.states[0].state == "RunKind"
    assert timeline.states[-1].state == "WaitForApproval" and timeline.states[-1].outcome == "running"
    assert [p.phase for p in timeline.phases] == ["started", "training", "evaluation", "waiting for approval"]
    assert all(s.duration_ms is not None for s in timeline.states[:-1])


def test_rollback_refuses_a_version_that_was_never_approved_and_an_unknown_one(local: LocalMode, trained: Trained) -> None:
    # Runs before the approval test: the trained version is still PENDING_APPROVAL here.
    bob = local.client(APPROVER)
    with pytest.raises(CaretakerApiError) as pending:
        bob.rollback(MODEL, trained.version, "back to the candidate")
    assert (pending.value.status, pending.value.code) == (409, "Conflict")
    assert "PENDING_APPROVAL" in pending.value.message
    with pytest.raises(CaretakerApiError) as unknown:
        bob.rollback(MODEL, 4242, "no such version")
    assert (unknown.value.status, [d.field for d in unknown.value.details]) == (404, ["body.toVersion"])
    assert not any(e.type == "ROLLBACK_REQUESTED" for e in bob.iter_audit(model=MODEL))
    assert bob.get_version(MODEL, trained.version).status == "PENDING_APPROVAL"


def test_ground_truth_lands_in_the_artifacts_bucket_as_json_lines_and_in_the_audit(local: LocalMode, trained: Trained) -> None:
    import json

    import botocore.session

    bob = local.client(APPROVER)
    labels = [{"inferenceId": "inf-1", "label": 1}, {"inferenceId": "inf-2", "label": 0}]
    result = bob.upload_ground_truth(MODEL, labels)
    assert result.records == 2 and result.key.startswith(f"ground-truth/{MODEL}/") and result.key.endswith(".jsonl")
    s3 = botocore.session.get_session().create_client(
        "s3", endpoint_url=local.moto_url, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )
    holders = []
    for bucket in s3.list_buckets()["Buckets"]:
        try:
            body = s3.get_object(Bucket=bucket["Name"], Key=result.key)["Body"].read().decode("utf-8")
        except s3.exceptions.NoSuchKey:
            continue
        holders.append(bucket["Name"])
        assert [json.loads(line)["inferenceId"] for line in body.splitlines() if line] == ["inf-1", "inf-2"]
    assert len(holders) == 1 and holders[0] != local.datasets_bucket
    uploads = [e for e in bob.iter_audit(model=MODEL) if e.type == "GROUND_TRUTH_UPLOADED"]
    # Recorded (with its audit event) before the object is written: the event names the records'
    # digest, which the object's key ends with.
    assert [(e.actor, result.key.endswith(f"/{(e.details or {}).get('digest')}.jsonl")) for e in uploads] == [(APPROVER, True)]

    with pytest.raises(CaretakerApiError) as bad:
        bob.upload_ground_truth(MODEL, [{"inferenceId": "inf-3"}])  # no label
    assert bad.value.status == 400 and any(d.field.startswith("body.records") for d in bad.value.details)
    assert len([e for e in bob.iter_audit(model=MODEL) if e.type == "GROUND_TRUTH_UPLOADED"]) == 1


def test_refuses_approval_by_the_requester_and_accepts_another_person(local: LocalMode, trained: Trained) -> None:
    alice, bob = local.client(REQUESTER), local.client(APPROVER)
    assert alice.who_am_i().id != bob.who_am_i().id
    own = alice.check_decision(MODEL, trained.version)
    assert (own.allowed, own.status) == (False, "PENDING_APPROVAL") and own.reason
    assert bob.check_decision(MODEL, trained.version).allowed is True
    with pytest.raises(CaretakerApiError) as refused:
        alice.approve(MODEL, trained.version, "I trained it, ship it")
    assert (refused.value.status, refused.value.code) == (403, "Forbidden")
    assert bob.get_version(MODEL, trained.version).status == "PENDING_APPROVAL"  # nothing written

    result = bob.approve(MODEL, trained.version, "metrics and gate look right")
    assert (result.model, result.version, result.status) == (MODEL, trained.version, "APPROVED")
    assert (result.decision.decision, result.decision.by, result.decision.reason) == ("APPROVED", APPROVER, "metrics and gate look right")
    with pytest.raises(CaretakerApiError) as late:
        bob.reject(MODEL, trained.version, "changed my mind")
    assert (late.value.status, late.value.code) == (409, "Conflict")
    assert any(e.type == "APPROVED" and e.version == trained.version and e.actor == APPROVER for e in bob.iter_audit(model=MODEL))


def test_errors_carry_status_code_and_the_field_at_fault(local: LocalMode, trained: Trained) -> None:
    bob = local.client(APPROVER)
    with pytest.raises(CaretakerApiError) as blank:
        bob.approve(MODEL, trained.version, "   ")
    assert (blank.value.status, blank.value.code) == (400, "Invalid")
    assert [d.field for d in blank.value.details] == ["body.reason"]
    with pytest.raises(CaretakerApiError) as missing:
        bob.get_version(MODEL, 4242)
    assert (missing.value.status, missing.value.code) == (404, "NotFound")
    with pytest.raises(CaretakerApiError) as unknown_model:
        bob.list_versions("no-such-model")
    assert unknown_model.value.status == 404
    with pytest.raises(CaretakerApiError) as bad_key:
        bob.retrain(MODEL, reason="x", idempotency_key="spaces are not allowed")
    assert bad_key.value.status == 400 and [d.field for d in bad_key.value.details] == ["headers.idempotency-key"]
    with pytest.raises(CaretakerApiError) as bad_token:
        bob.list_versions(MODEL, next_token="bm90LWEtdG9rZW4")
    assert bad_token.value.status == 400 and "query.nextToken" in [d.field for d in bad_token.value.details]
    with pytest.raises(CaretakerApiError) as no_caller:
        _without_principal(local)
    assert (no_caller.value.status, no_caller.value.code) == (403, "Forbidden")
    assert "403 Forbidden" in str(no_caller.value)


def _without_principal(local: LocalMode) -> None:
    """A request with no X-Caretaker-Principal header (what a signed request looks like to local mode)."""
    client = CaretakerClient(local.api_url, local_principal="someone")
    client.local_principal = None
    client._sign = lambda method, url, headers, data: dict(headers)  # type: ignore[method-assign]
    client.list_models()


def test_to_dataframe_gives_one_row_per_result_or_says_what_to_install(local: LocalMode, trained: Trained) -> None:
    page = local.client(APPROVER).list_versions(MODEL)
    try:
        import pandas  # noqa: F401
    except ImportError:
        # test.sh's installed-package run is on Debian's python3 with its pandas: there the frame path must run.
        assert os.environ.get("CARETAKER_CLIENT_INSTALLED") != "1", "the installed-package run needs pandas"
        with pytest.raises(ImportError, match="pip install"):
            page.to_dataframe()
        return
    frame = to_dataframe(page)
    assert list(frame["version"]) == [v.version for v in page]
    assert "comparison.metric_name" in frame.columns
