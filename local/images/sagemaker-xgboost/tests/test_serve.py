import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import xgboost as xgb

from conftest import SERVE, dataset


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """serve.py on a model saved as the training job saves it (model/xgboost-model, binary format)."""
    root = tmp_path_factory.mktemp("serve")
    x, y = dataset(400, seed=3)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(x, label=y, missing=np.nan), 10)
    os.makedirs(root / "model")
    booster.save_model(str(root / "model" / "xgboost-model"))
    port = free_port()
    env = {**os.environ, "SM_ROOT": str(root), "SAGEMAKER_BIND_TO_HOST": "127.0.0.1", "SAGEMAKER_BIND_TO_PORT": str(port)}
    process = subprocess.Popen([sys.executable, SERVE], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 15
    while True:
        try:
            if request(port, "GET", "/ping")[0] == 200:
                break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError(f"serve.py did not come up: {process.communicate()[0]}")
            time.sleep(0.05)
    yield port, booster, process
    if process.poll() is None:
        process.kill()
        process.wait()


def request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read().decode("utf-8")
    finally:
        connection.close()


ROWS = "0.5,1.2,-0.3,0.8\n-1.5,-0.2,,0.1\n2.0,0.0,1.0,-1.0"


def expected(booster):
    rows = np.array([[np.nan if v == "" else float(v) for v in line.split(",")] for line in ROWS.split("\n")])
    return booster.predict(xgb.DMatrix(rows, missing=np.nan)).tolist()


def test_ping(endpoint):
    port, _, _ = endpoint
    assert request(port, "GET", "/ping")[0] == 200


def test_csv_predictions_one_per_line_by_default(endpoint):
    port, booster, _ = endpoint
    status, content_type, body = request(port, "POST", "/invocations", ROWS, {"Content-Type": "text/csv"})
    assert status == 200 and content_type.startswith("text/csv")
    # sagemaker-containers array_to_csv: each prediction on its own line, newline-terminated.
    assert body == "".join(f"{p}\n" for p in expected(booster))
    assert request(port, "POST", "/invocations", ROWS, {"Content-Type": "text/csv", "Accept": "*/*"})[2] == body
    assert request(port, "POST", "/invocations", ROWS, {"Content-Type": "text/csv; charset=utf-8", "Accept": "text/csv"})[2] == body


def test_a_single_row(endpoint):
    port, booster, _ = endpoint
    status, _, body = request(port, "POST", "/invocations", "0.5,1.2,-0.3,0.8\n", {"Content-Type": "text/csv"})
    assert status == 200 and body == f"{expected(booster)[0]}\n"


def test_json_predictions(endpoint):
    port, booster, _ = endpoint
    status, content_type, body = request(port, "POST", "/invocations", ROWS,
                                         {"Content-Type": "text/csv", "Accept": "application/json"})
    assert status == 200 and content_type == "application/json"
    # serve_utils.encode_predictions_as_json
    assert json.loads(body) == {"predictions": [{"score": p} for p in expected(booster)]}


@pytest.mark.parametrize("body, headers, status, message", [
    ("0.5,abc,1,2", {"Content-Type": "text/csv"}, 415, "line 1 is not numeric"),
    ("0.5,1,2,3\n1,2", {"Content-Type": "text/csv"}, 415, "line 2 has 2 values, line 1 has 4"),
    ('{"instances": [[1,2,3,4]]}', {"Content-Type": "application/json"}, 415, "Content-type application/json is not supported"),
    ("1,2,3,4", {"Content-Type": "text/csv;label_size=2"}, 415, "label_size must be equal to 1"),
    ("1,2,3", {"Content-Type": "text/csv"}, 400, "Feature size of csv inference data 3 is not consistent with feature size of trained model 4"),
    ("1,2,3,4", {"Content-Type": "text/csv", "Accept": "text/html"}, 406, "Accept type text/html is not supported"),
])
def test_bad_requests_are_refused_with_the_containers_status(endpoint, body, headers, status, message):
    port, _, _ = endpoint
    got, _, text = request(port, "POST", "/invocations", body, headers)
    assert got == status
    assert message in text


def test_an_empty_body_is_no_content(endpoint):
    port, _, _ = endpoint
    assert request(port, "POST", "/invocations", "", {"Content-Type": "text/csv"})[:1] == (204,)


def test_sigterm_stops_the_server(endpoint):
    port, _, process = endpoint
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0
    assert "SIGTERM received" in process.stdout.read()
    with pytest.raises(OSError):
        request(port, "GET", "/ping")
