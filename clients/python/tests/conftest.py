"""Local mode for the client's tests: ``caretaker local up`` (the repository's CLI, the same stack a
team runs with ``npx caretaker local up``) started once per session on free ports, a churn dataset
uploaded to its moto S3 and registered through the API, and one training run taken to
PENDING_APPROVAL through the real pipeline (local Step Functions + the local SageMaker runner).
Stopped (SIGINT, as Ctrl-C) when the session ends.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import pytest

ROOT = Path(__file__).resolve().parents[3]
# The suite runs against the source tree, or, with CARETAKER_CLIENT_INSTALLED=1 (test.sh's second run),
# against the package as pip installed it, so the packaging (pyproject, package discovery) is tested too.
if os.environ.get("CARETAKER_CLIENT_INSTALLED") != "1":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from caretaker_client import CaretakerClient  # noqa: E402

# Identities as API Gateway reports them for role callers: assumed-role session ARNs.
REQUESTER = "arn:aws:sts::111122223333:assumed-role/DataScientist/alice"
APPROVER = "arn:aws:sts::111122223333:assumed-role/MLLead/bob"
MODEL = "churn"
STARTUP_SECONDS = 240
STEP_SECONDS = 240


@dataclass
class LocalMode:
    api_url: str
    moto_url: str
    datasets_bucket: str
    output: List[str]

    def client(self, principal: str) -> CaretakerClient:
        return CaretakerClient(self.api_url, local_principal=principal, strict=True)


def _start() -> "tuple[subprocess.Popen[str], LocalMode]":
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the tests run the API in local mode (npx caretaker local up)")
    process = subprocess.Popen(
        ["node", str(ROOT / "bin" / "caretaker.mjs"), "local", "up", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: List[str] = []
    found: dict = {}
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line.rstrip("\n"))
            for name, pattern in (("api", r"^\s*API\s+(http://\S+)"), ("moto", r"^\s*moto\s+(http://\S+)"), ("bucket", r"datasets bucket (\S+)")):
                match = re.search(pattern, line)
                if match:
                    found[name] = match.group(1)
            if "Press Ctrl-C to stop" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(STARTUP_SECONDS)
    if process.poll() is not None or not {"api", "moto", "bucket"} <= found.keys():
        _stop(process)
        pytest.fail("local up did not start:\n" + "\n".join(output[-40:]))
    return process, LocalMode(found["api"], found["moto"], found["bucket"], output)


def _stop(process: "subprocess.Popen[str]") -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="session")
def local() -> Iterator[LocalMode]:
    process, mode = _start()
    try:
        yield mode
    finally:
        _stop(process)


def upload(local: LocalMode, key: str, body: bytes) -> str:
    """Puts an object into the local datasets bucket (moto S3), as `aws s3 cp` would."""
    import botocore.session

    s3 = botocore.session.get_session().create_client(
        "s3", endpoint_url=local.moto_url, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )
    return s3.put_object(Bucket=local.datasets_bucket, Key=key, Body=body, ContentType="text/csv")["VersionId"]


@dataclass
class Trained:
    dataset_version: str
    run_id: str
    version: int
    idempotency_key: str


@pytest.fixture(scope="session")
def churn_csv() -> "tuple[bytes, bytes]":
    """The example's seeded churn data (the demo's generator), train and validation split."""
    out = Path(tempfile.mkdtemp(prefix="caretaker-pytest-"))
    subprocess.run(
        ["node", "--import", "tsx", str(ROOT / "examples/churn/src/generate.ts"), "--out", str(out), "--rows", "2500", "--seed", "11"],
        cwd=ROOT, check=True, capture_output=True,
    )
    data = (out / "train.csv").read_bytes(), (out / "validation.csv").read_bytes()
    shutil.rmtree(out, ignore_errors=True)
    return data


@pytest.fixture(scope="session")
def trained(local: LocalMode, churn_csv: "tuple[bytes, bytes]") -> Trained:
    """A dataset version registered through the API and a run at PENDING_APPROVAL."""
    alice = local.client(REQUESTER)
    key = "datasets/churn/pytest/train.csv"
    version_id = upload(local, key, churn_csv[0])
    registered = alice.register_dataset_version(MODEL, [{"key": key, "versionId": version_id}])
    assert registered.created and registered.record.validation.status == "PASSED", registered.record.validation
    idempotency_key = f"pytest-{int(time.time())}"
    run_id = alice.retrain(MODEL, reason="first model from the notebook", dataset_version=registered.record.dataset_version, idempotency_key=idempotency_key).run_id
    deadline = time.monotonic() + STEP_SECONDS
    while True:
        try:
            run = alice.get_run(run_id)
        except Exception as error:  # the run record appears once the starter took the request
            if getattr(error, "status", None) != 404:
                raise
            run = None
        if run is not None and run.status == "QUEUED":
            run = None  # the request is recorded and the starter has not taken it yet (GET /runs/{runId})
        if run is not None and run.version is not None:
            version = alice.get_version(MODEL, run.version)
            if version.status == "PENDING_APPROVAL":
                return Trained(registered.record.dataset_version, run_id, run.version, idempotency_key)
        if run is not None and run.status != "RUNNING":
            pytest.fail(f"run {run_id} ended {run.status}: {run.failure or run.reason}")
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} did not reach PENDING_APPROVAL in {STEP_SECONDS} s:\n" + "\n".join(local.output[-40:]))
        time.sleep(0.5)
