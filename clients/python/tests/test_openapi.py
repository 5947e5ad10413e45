"""The client against ``openapi.json`` (generated from the API's route table): every operation has
a method, every path/query/header parameter and request-body property is one of its arguments,
the error type carries the Error schema's fields, and — where the document describes a response
body's properties — the result dataclass declares them."""
from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path
from typing import Any, Dict, List

from caretaker_client import CaretakerApiError, CaretakerClient, ErrorDetail
from caretaker_client import models as m
from caretaker_client.models import snake

OPENAPI = json.loads((Path(__file__).resolve().parents[3] / "openapi.json").read_text())

# operationId -> (client method, result dataclass); the document's own operation is not a client call.
OPERATIONS: Dict[str, Any] = {
    "listModels": ("list_models", m.ModelList),
    "getModel": ("get_model", m.ModelDetail),
    "listVersions": ("list_versions", m.ModelVersion),
    "getVersion": ("get_version", m.ModelVersion),
    "approve": ("approve", m.DecisionResult),
    "reject": ("reject", m.DecisionResult),
    "retrain": ("retrain", m.RetrainResult),
    "rollback": ("rollback", m.RollbackResult),
    "groundTruth": ("upload_ground_truth", m.GroundTruthResult),
    "getRun": ("get_run", m.Run),
    "getRunTimeline": ("get_run_timeline", m.RunTimeline),
    "listDatasets": ("list_datasets", m.DatasetList),
    "listDatasetVersions": ("list_dataset_versions", m.DatasetVersionListItem),
    "registerDatasetVersion": ("register_dataset_version", m.RegisterResult),
    "getDatasetVersion": ("get_dataset_version", m.DatasetVersion),
    "listAudit": ("list_audit", m.AuditEvent),
    "whoAmI": ("who_am_i", m.Caller),
    "checkDecision": ("check_decision", m.DecisionCheck),
    "getEvaluation": ("get_evaluation", m.Evaluation),
    "modelMetrics": ("model_metrics", m.ModelMetrics),
    "listDriftReports": ("list_drift_reports", m.DriftReportList),
    "getDriftReport": ("get_drift_report", m.DriftReportWindow),
}
NOT_CLIENT_CALLS = {"openapi"}
# Parameter spellings that Python cannot use as they are.
RENAMED = {"from": "from_", "Idempotency-Key": "idempotency_key", "toVersion": "to_version"}


def operations() -> List[Dict[str, Any]]:
    found = []
    for path, methods in OPENAPI["paths"].items():
        for method, operation in methods.items():
            found.append({"path": path, "method": method.upper(), **operation})
    return found


def argument(name: str) -> str:
    return RENAMED.get(name, snake(name))


def test_every_operation_of_the_api_has_a_client_method() -> None:
    ids = {op["operationId"] for op in operations()}
    assert ids - NOT_CLIENT_CALLS == set(OPERATIONS), "openapi.json and the Python client list different operations"
    for operation_id, (method, _) in OPERATIONS.items():
        assert callable(getattr(CaretakerClient, method, None)), f"{operation_id}: CaretakerClient.{method} is missing"


def test_every_parameter_and_body_property_is_an_argument_of_its_method() -> None:
    for op in operations():
        if op["operationId"] in NOT_CLIENT_CALLS:
            continue
        method, _ = OPERATIONS[op["operationId"]]
        signature = inspect.signature(getattr(CaretakerClient, method))
        names = set(signature.parameters) - {"self"}
        expected = {argument(p["name"]) for p in op.get("parameters", [])}
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        properties = body.get("properties", {})
        if method == "upload_ground_truth":
            expected |= {"records"}
        elif method == "register_dataset_version":
            expected |= set(properties)  # objects, schema
        else:
            expected |= {argument(p) for p in properties}
        missing = expected - names
        assert not missing, f"{op['method']} {op['path']}: CaretakerClient.{method} takes no {sorted(missing)}"
        # Path parameters, and required body properties, are required arguments.
        required = {argument(p["name"]) for p in op.get("parameters", []) if p.get("required")}
        required |= {argument(p) for p in body.get("required", [])} & names
        optional = {n for n, p in signature.parameters.items() if p.default is not inspect.Parameter.empty}
        assert not (required & optional), f"{op['method']} {op['path']}: {sorted(required & optional)} must be required"
        # Every path parameter appears in the path the method calls (checked by the local-mode tests).
        assert set(re.findall(r"{(\w+)}", op["path"])) <= {p["name"] for p in op.get("parameters", [])}


def test_the_error_type_carries_the_error_schema() -> None:
    error = OPENAPI["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error", "message", "details"}
    assert {"status", "code", "message", "details"} <= set(vars(CaretakerApiError(400, "Invalid", "m")))
    detail = error["properties"]["details"]["items"]
    assert {f.name for f in dataclasses.fields(ErrorDetail)} == set(detail["properties"])
    required = {f.name for f in dataclasses.fields(ErrorDetail) if f.default is dataclasses.MISSING}
    assert required == set(detail["required"])
    for op in operations():
        for status, response in op["responses"].items():
            if not status.startswith("2"):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_result_classes_declare_every_property_the_document_describes() -> None:
    for op in operations():
        if op["operationId"] in NOT_CLIENT_CALLS:
            continue
        _, result = OPERATIONS[op["operationId"]]
        for status, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if not status.startswith("2") or "properties" not in schema:
                continue
            props = schema["properties"]
            if set(props) <= {"items", "nextToken"} and "items" in props:
                props = props["items"].get("items", {}).get("properties", {})
            fields = {f.name for f in dataclasses.fields(result)}
            missing = {snake(p) for p in props} - fields
            assert not missing, f"{op['operationId']}: {result.__name__} does not declare {sorted(missing)}"
    # openapi.json describes the bodies the route table gives a schema (approve/reject:
    # `responses.decision`); the others are `{"type": "object"}`, which the local-mode tests check
    # against real answers.
