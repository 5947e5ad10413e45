"""Local stand-in for `serve` in SageMaker's built-in XGBoost image (sagemaker-xgboost:1.7-1),
a single-model endpoint, driving the real xgboost library.

Modelled on github.com/aws/sagemaker-xgboost-container, branch 1.7-1 (read, not copied):
  - algorithm_mode/serve.py        routes, status codes, Accept handling, response bodies
  - algorithm_mode/serve_utils.py  CSV payload parsing, model loading, encode_predictions_as_json
  - encoder.py                     csv_to_dmatrix: an empty value is missing (NaN)
and sagemaker-containers' _encoders.array_to_csv (the text/csv body: one prediction per line).
SageMaker Developer Guide: "Common data formats for inference" (text/csv rows of features,
comma-separated, no label), "Use your own inference code with hosting services" (GET /ping,
POST /invocations, port 8080 or SAGEMAKER_BIND_TO_PORT).

Status codes as the container's: empty body 204; a body that is not text/csv or not numeric 415;
a row whose feature count differs from the model's 400; an Accept it cannot produce 406; a body
over MAX_CONTENT_LENGTH (6 MiB) 413.

Deviations (see README.md): text/csv requests only (no libsvm / recordio-protobuf); text/csv and
application/json responses only (no selectable inference output); one model file, not pickles or
ensembles; the stdlib's threaded HTTP server instead of gunicorn + gevent workers.
"""
import http.client
import json
import logging
import math
import os
import signal
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import xgboost as xgb

MODEL_NAME = "xgboost-model"
MAX_CONTENT_LENGTH = int(os.getenv("MAX_CONTENT_LENGTH", "6291456"))  # serve.py PARSED_MAX_CONTENT_LENGTH
# serve.py SUPPORTED_ACCEPTS lists jsonlines and recordio-protobuf too, but encodes them only for
# selectable inference output, which the stand-in does not model.
SUPPORTED_ACCEPTS = ["text/csv", "application/json"]

log = logging.getLogger("sagemaker-xgboost-serve")


class RequestError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def media_type(header):
    """`text/csv; charset=utf-8` → `text/csv`; parameters as a dict."""
    parts = [p.strip() for p in (header or "").split(";")]
    params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    return parts[0].lower(), {k.strip().lower(): v.strip().strip('"') for k, v in params.items()}


def parse_csv(body, content_type):
    """Rows of features (serve_utils.parse_content_data + encoder.csv_to_dmatrix): 415 when unreadable."""
    kind, params = media_type(content_type)
    if kind not in ("text/csv", "csv"):
        raise RequestError(http.client.UNSUPPORTED_MEDIA_TYPE,
                           f"Content-type {content_type or '(none)'} is not supported by the local stand-in: "
                           f"send text/csv (rows of features, comma-separated, no header, no label)")
    if params.get("label_size", "1") != "1":
        raise RequestError(http.client.UNSUPPORTED_MEDIA_TYPE,
                           f"{content_type} is not an accepted csv ContentType. Optional parameter label_size must be equal to 1")
    prefix = "Loading csv data failed with Exception, please ensure data is in csv format:\n "
    try:
        text = body.strip().decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(http.client.UNSUPPORTED_MEDIA_TYPE, f"{prefix}{error}")
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        values = line.strip().split(",")
        if rows and len(values) != len(rows[0]):
            raise RequestError(http.client.UNSUPPORTED_MEDIA_TYPE,
                               f"{prefix}line {number} has {len(values)} values, line 1 has {len(rows[0])}")
        try:
            rows.append([math.nan if v.strip() == "" else float(v) for v in values])
        except ValueError:
            raise RequestError(http.client.UNSUPPORTED_MEDIA_TYPE, f"{prefix}line {number} is not numeric: {line[:80]!r}")
    return np.asarray(rows, dtype=np.float64)


def choose_accept(header):
    """serve._parse_accept: none or */* → SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT or text/csv; else must be supported (406)."""
    accept = media_type(header)[0] if header else ""
    if not accept or accept == "*/*":
        return os.getenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/csv")
    if accept not in SUPPORTED_ACCEPTS:
        raise RequestError(http.client.NOT_ACCEPTABLE,
                           f"Accept type {accept} is not supported. Please use supported accept types: {SUPPORTED_ACCEPTS}.")
    return accept


def encode(predictions, accept):
    values = predictions.tolist()
    if os.getenv("SAGEMAKER_BATCH"):  # serve.invocations: batch transform gets one line per record
        return "".join(f"{v}\n" for v in values)
    if accept == "application/json":  # serve_utils.encode_predictions_as_json
        return json.dumps({"predictions": [{"score": v} for v in values]})
    # sagemaker-containers array_to_csv: one row per prediction, "\n" after each (a multi:softprob
    # row holds its class probabilities, comma-separated).
    return "".join((",".join(map(str, v)) if isinstance(v, list) else str(v)) + "\n" for v in values)


class Model:
    def __init__(self, path):
        self.booster = xgb.Booster()
        self.booster.load_model(path)
        self.booster.set_param("nthread", 1)  # serve_utils.get_loaded_booster
        self.features = self.booster.num_features()
        self.lock = threading.Lock()  # one Booster shared by the server's threads

    def predict(self, rows):
        if rows.shape[1] != self.features:
            raise RequestError(http.client.BAD_REQUEST,
                               f"Unable to evaluate payload provided: Feature size of csv inference data {rows.shape[1]} "
                               f"is not consistent with feature size of trained model {self.features}.")
        with self.lock:
            return self.booster.predict(xgb.DMatrix(rows, missing=math.nan), validate_features=False)


def handler_for(model):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def reply(self, status, body=b"", content_type="text/plain; charset=utf-8"):
            body = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            if status != http.client.NO_CONTENT:
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != http.client.NO_CONTENT:
                self.wfile.write(body)

        def do_GET(self):
            if self.path == "/ping":
                return self.reply(http.client.OK)
            if self.path == "/execution-parameters":  # serve.execution_parameters (batch transform)
                return self.reply(http.client.OK, json.dumps({
                    "MaxConcurrentTransforms": os.cpu_count() or 1, "BatchStrategy": "MULTI_RECORD",
                    "MaxPayloadInMB": MAX_CONTENT_LENGTH // (1024 ** 2)}), "application/json")
            self.reply(http.client.NOT_FOUND, f"no route GET {self.path}")

        def do_POST(self):
            if self.path != "/invocations":
                return self.reply(http.client.NOT_FOUND, f"no route POST {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_CONTENT_LENGTH:
                self.close_connection = True
                return self.reply(http.client.REQUEST_ENTITY_TOO_LARGE,
                                  f"payload of {length} bytes is over MAX_CONTENT_LENGTH ({MAX_CONTENT_LENGTH})")
            body = self.rfile.read(length)
            if not body:
                return self.reply(http.client.NO_CONTENT)
            try:
                # The container's order: parse the payload, predict, then check Accept.
                rows = parse_csv(body, self.headers.get("Content-Type"))
                predictions = model.predict(rows)
                accept = choose_accept(self.headers.get("Accept"))
            except RequestError as error:
                log.warning("%s %s", error.status, error)
                return self.reply(error.status, str(error))
            # Flask adds a charset to text/* mimetypes.
            self.reply(http.client.OK, encode(predictions, accept),
                       "text/csv; charset=utf-8" if accept == "text/csv" else accept)

        def log_message(self, format, *args):
            log.debug(format, *args)

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on DNS; it is only cosmetic.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    logging.basicConfig(format="[%(asctime)s:%(levelname)s] %(message)s", level=logging.INFO, stream=sys.stdout)
    root = os.environ.get("SM_ROOT", "/opt/ml")
    path = os.path.join(root, "model", MODEL_NAME)
    try:
        model = Model(path)
    except Exception as error:
        log.error("Unable to load model %s: %s", path, error)
        return 1
    host = os.environ.get("SAGEMAKER_BIND_TO_HOST", "0.0.0.0")
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    server = Server((host, port), handler_for(model))

    # serve.py stops on SIGTERM ("docker stop"); shutdown() must run off the serving thread.
    def stop(signum, frame):
        log.info("SIGTERM received, shutting down")
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    log.info("Loaded %s (%d features); listening on %s:%d", path, model.features, host, server.server_address[1])
    try:
        server.serve_forever()
    finally:
        server.server_close()
    log.info("Stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
