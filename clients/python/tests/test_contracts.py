"""The dataclasses against the records the API answers with (``lambdas/shared/contracts.ts``).

The client parses strictly: a field the API answers that a dataclass does not declare is a
``SchemaMismatch``. ``openapi.json`` describes a version's and a run's bodies only loosely, so a field
added to a record on the TypeScript side reached the Python client only when a local-mode test
happened to read it (``deployingEndpointConfigName`` failed CI that way). This reads the record
interfaces themselves, so the drift shows here, offline, naming the field."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Dict, List, Set

import pytest

from caretaker_client import models as m
from caretaker_client.models import snake

CONTRACTS = (Path(__file__).resolve().parents[3] / "lambdas" / "shared" / "contracts.ts").read_text()

# Record fields the API never answers with (dynamo-registry.ts strips them).
NEVER_ANSWERED = {"ModelVersionRecord": {"taskToken"}}


def interface_fields(name: str) -> List[str]:
    match = re.search(rf"^export interface {name} \{{\n(.*?)^\}}", CONTRACTS, re.M | re.S)
    assert match, f"lambdas/shared/contracts.ts declares no `export interface {name}`"
    # Top-level members only: two spaces of indent (nested object types are indented further).
    return re.findall(r"^  readonly (\w+)\??:", match.group(1), re.M)


def declared(cls: type) -> Set[str]:
    return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("interface, cls", [("ModelVersionRecord", m.ModelVersion), ("RunRecord", m.Run)])
def test_every_field_of_the_record_the_api_answers_with_is_declared(interface: str, cls: type) -> None:
    fields = [f for f in interface_fields(interface) if f not in NEVER_ANSWERED.get(interface, set())]
    assert len(fields) > 10, f"read too few fields of {interface}: {fields}"
    missing = [f"{f} (add `{snake(f)}` to caretaker_client.models.{cls.__name__})" for f in fields if snake(f) not in declared(cls)]
    assert missing == [], missing


def test_a_failed_deployment_parses_into_its_dataclass() -> None:
    version: Dict[str, object] = {
        "model": "churn", "version": 2, "status": "DEPLOY_FAILED", "runId": "r", "requestedBy": "a",
        "datasetName": "d", "datasetVersion": "v1", "trainingJobName": "t", "modelArtifactUri": "s3://b/k",
        "imageUri": "i", "instanceType": "ml.m5.large", "hyperparameters": {}, "metrics": {},
        "comparison": {"candidate": 0.9, "direction": "maximize", "metricName": "validation:auc"},
        "evaluationReportUri": "s3://b/e", "createdAt": "2026-12-04T00:00:00Z", "updatedAt": "2026-12-04T00:00:00Z",
        "deployingEndpointConfigName": "churn-v2",
        "lastFailedDeployment": {"runId": "r", "at": "2026-12-04T01:00:00Z", "state": "WaitForEndpoint", "error": "E", "cause": "c"},
    }
    parsed = m._from_dict(m.ModelVersion, version, "version", True)
    assert parsed.last_failed_deployment == m.FailedDeployment("r", "2026-12-04T01:00:00Z", "WaitForEndpoint", "E", "c")
    assert parsed.deploying_endpoint_config_name == "churn-v2"
