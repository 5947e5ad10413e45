"""Validates SageMaker requests against botocore's service model (the one on this machine).

stdin: a JSON list of {"operation": "CreateTrainingJob", "params": {...}}.
stdout: a JSON list, one entry per request: {"operation", "errors"} ("" when valid).
Uses botocore.validate.ParamValidator, the check boto3 runs before it sends a request.
"""
import json
import sys

import botocore.session
from botocore.validate import ParamValidator

model = botocore.session.get_session().get_service_model("sagemaker")
validator = ParamValidator()
out = []
for request in json.load(sys.stdin):
    operation = model.operation_model(request["operation"])
    report = validator.validate(request["params"], operation.input_shape)
    out.append({"operation": request["operation"], "errors": report.generate_report() if report.has_errors() else ""})
json.dump({"botocore": botocore.__version__, "results": out}, sys.stdout)
