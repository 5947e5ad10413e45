"""Scores the candidate XGBoost model and (when there is one) the production champion on the same
holdout; the training pipeline's evaluation step.

Runs as a SageMaker Processing job in the sagemaker-xgboost:1.7-1 image, as
`python3 /opt/ml/processing/input/code/evaluate.py` (the code is a processing input), and locally
under any Python with numpy and xgboost: it needs nothing else. Every path is under SM_ROOT
(default /opt/ml):

  processing/holdout/encoding.json          the channels' encoding (lambdas/datasets/algorithm-csv.ts)
  processing/holdout/validation/part-*.csv  the staged validation channel: no header, label first
  processing/candidate/model.tar.gz         the training job's output, holding `xgboost-model`
  processing/champion/model.tar.gz          the same for the champion; absent or empty: no champion
  processing/report/evaluation.json         written: {"holdout": {"rows"}, "positives",
                                            "candidate": {"metrics"}, "champion": {"metrics"} | null}

Metrics (as examples/churn/src/metrics.ts computes them, under the names the gate reads):
validation:auc (Mann-Whitney, tied scores counted half, 0.5 when a class is missing),
validation:accuracy (probability >= 0.5 is positive), validation:logloss (probabilities clipped
to [1e-15, 1 - 1e-15]); each rounded to 6 decimals and printed as `#metric <role>:<name>=<value>`.
A refusal is one line on stderr naming the file, and exit status 1.
"""
import glob
import json
import math
import os
import sys
import tarfile

import numpy as np
import xgboost as xgb

MODEL_NAME = "xgboost-model"
ENCODING_FORMAT = "sagemaker-algorithm-csv"
PROBABILITY_OBJECTIVES = ("binary:logistic", "reg:logistic")


class Refusal(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Metrics

def auc(labels, scores):
    """Area under the ROC curve by the Mann-Whitney rank sum; tied scores share their average rank."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    positives = int(np.sum(labels == 1))
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    _, group, sizes = np.unique(scores, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(sizes)  # 1-based rank of each group's last member
    ranks = (last_rank - (sizes - 1) / 2.0)[group]
    rank_sum = float(np.sum(ranks[labels == 1]))
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def accuracy(labels, scores, threshold=0.5):
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    if len(labels) == 0:
        return 0.0
    return float(np.mean((scores >= threshold).astype(float) == labels))


def log_loss(labels, scores):
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    if len(labels) == 0:
        return 0.0
    p = np.clip(scores, 1e-15, 1 - 1e-15)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def metrics(labels, scores):
    return {
        "validation:auc": round(auc(labels, scores), 6),
        "validation:accuracy": round(accuracy(labels, scores), 6),
        "validation:logloss": round(log_loss(labels, scores), 6),
    }


# ----------------------------------------------------------------------------------------------
# Inputs

def read_encoding(path):
    try:
        with open(path, encoding="utf-8") as handle:
            encoding = json.load(handle)
    except FileNotFoundError:
        raise Refusal(f"{path}: missing (the holdout input carries the channels' encoding.json)")
    except json.JSONDecodeError as error:
        raise Refusal(f"{path}: not JSON ({error})")
    if not isinstance(encoding, dict) or encoding.get("format") != ENCODING_FORMAT:
        raise Refusal(f"{path}: format is not {ENCODING_FORMAT!r}")
    columns = encoding.get("columns")
    if not isinstance(columns, list) or not columns:
        raise Refusal(f"{path}: no encoded feature columns")
    return encoding


def read_holdout(directory, width):
    """(labels, features) of every validation/part-*.csv row; each row is label,feature… (empty = missing)."""
    files = sorted(glob.glob(os.path.join(directory, "validation", "part-*.csv")))
    labels, rows = [], []
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                values = line.split(",")
                if len(values) != 1 + width:
                    raise Refusal(f"{path} line {number}: {len(values)} values, expected the label and {width} "
                                  f"encoded columns (encoding.json)")
                try:
                    parsed = [math.nan if v == "" else float(v) for v in values]
                except ValueError:
                    bad = next(v for v in values if v != "" and not is_number(v))
                    raise Refusal(f"{path} line {number}: {bad!r} is not a number")
                if math.isnan(parsed[0]):
                    raise Refusal(f"{path} line {number}: no label (the first value is empty)")
                labels.append(parsed[0])
                rows.append(parsed[1:])
    if not rows:
        where = os.path.join(directory, "validation", "part-*.csv")
        raise Refusal(f"{where}: the holdout is empty ({len(files)} file(s), no rows)")
    return np.asarray(labels), np.asarray(rows, dtype=np.float64)


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def load_model(archive, width):
    """The Booster in `archive` (model.tar.gz holding xgboost-model), checked against the encoding's width."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.isfile() and os.path.basename(m.name) == MODEL_NAME), None)
            if member is None:
                raise Refusal(f"{archive}: holds no {MODEL_NAME}")
            raw = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise Refusal(f"{archive}: not a readable model.tar.gz ({error})")
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(raw))
    except xgb.core.XGBoostError as error:
        raise Refusal(f"{archive}: {MODEL_NAME} is not an XGBoost model ({str(error).splitlines()[0]})")
    if booster.num_features() != width:
        raise Refusal(f"{archive}: the model takes {booster.num_features()} features but encoding.json has {width} "
                      f"columns (trained on another encoding)")
    objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
    if objective not in PROBABILITY_OBJECTIVES:
        raise Refusal(f"{archive}: objective {objective} does not predict probabilities "
                      f"(one of {', '.join(PROBABILITY_OBJECTIVES)} is needed)")
    return booster


def find_archive(directory):
    archives = sorted(glob.glob(os.path.join(directory, "*.tar.gz"))) if os.path.isdir(directory) else []
    return archives[0] if archives else None


# ----------------------------------------------------------------------------------------------

def evaluate(root):
    processing = os.path.join(root, "processing")
    holdout = os.path.join(processing, "holdout")
    candidate_dir = os.path.join(processing, "candidate")
    candidate_archive = find_archive(candidate_dir)
    if candidate_archive is None:
        raise Refusal(f"{os.path.join(candidate_dir, 'model.tar.gz')}: no candidate model")
    encoding = read_encoding(os.path.join(holdout, "encoding.json"))
    width = len(encoding["columns"])
    candidate = load_model(candidate_archive, width)
    champion_archive = find_archive(os.path.join(processing, "champion"))
    champion = load_model(champion_archive, width) if champion_archive else None
    labels, features = read_holdout(holdout, width)

    def scores(booster):
        return booster.predict(xgb.DMatrix(features, missing=math.nan), validate_features=False)

    report = {
        "holdout": {"rows": int(len(labels))},
        "positives": int(np.sum(labels == 1)),
        "candidate": {"metrics": metrics(labels, scores(candidate))},
        "champion": {"metrics": metrics(labels, scores(champion))} if champion is not None else None,
    }
    out = os.path.join(processing, "report")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "evaluation.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
    return report


def main():
    root = os.environ.get("SM_ROOT", "/opt/ml")
    try:
        report = evaluate(root)
    except Refusal as refusal:
        print(f"evaluation failed: {refusal}", file=sys.stderr)
        return 1
    for role in ("candidate", "champion"):
        for name, value in ((report[role] or {}).get("metrics") or {}).items():
            print(f"#metric {role}:{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
