import json
import math
import os
import subprocess
import sys
import tarfile
import types

import numpy as np
import pytest
import xgboost as xgb

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVALUATE = os.path.join(HERE, "evaluate.py")
sys.path.insert(0, HERE)
import evaluate  # noqa: E402

COLUMNS = ["tenure_months", "monthly_charges", "support_calls", "contract=month-to-month", "contract=one-year",
           "contract=two-year"]
ENCODING = {
    "format": "sagemaker-algorithm-csv", "label": "churned",
    "features": [{"name": "tenure_months", "kind": "number"}, {"name": "monthly_charges", "kind": "number"},
                 {"name": "support_calls", "kind": "number"},
                 {"name": "contract", "kind": "one-hot", "categories": ["month-to-month", "one-year", "two-year"]}],
    "columns": COLUMNS, "validationShare": 0.2,
}


def churn(rows, seed):
    """Encoded churn records: leaving is likelier with short tenure, high charges, many calls, monthly contracts."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    charges = rng.uniform(20, 120, rows).round(2)
    calls = rng.poisson(2, rows).astype(float)
    contract = rng.integers(0, 3, rows)
    score = -0.05 * tenure + 0.03 * charges + 0.5 * calls - 1.0 * contract - 1.5 + rng.normal(scale=0.8, size=rows)
    x = np.column_stack([tenure, charges, calls, np.eye(3)[contract]])
    x[rng.random(rows) < 0.05, 1] = np.nan  # some monthly_charges missing, as an empty value
    return x, (score > 0).astype(int)


def model_archive(path, x, y, rounds):
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "seed": 1}, xgb.DMatrix(x, label=y, missing=np.nan), rounds)
    # As the training job leaves it: model/xgboost-model (save_model, no extension), packed as model.tar.gz.
    os.makedirs(os.path.dirname(path), exist_ok=True)
    saved = path + ".xgboost-model"
    booster.save_model(saved)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(saved, arcname="xgboost-model")
    os.remove(saved)
    return booster


def write_part(path, x, y):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        for label, row in zip(y, x):
            handle.write(",".join([str(label)] + ["" if math.isnan(v) else repr(float(v)) for v in row]) + "\n")


@pytest.fixture
def root(tmp_path):
    processing = tmp_path / "processing"
    os.makedirs(processing / "holdout")
    (processing / "holdout" / "encoding.json").write_text(json.dumps(ENCODING))
    hx, hy = churn(300, seed=11)
    write_part(str(processing / "holdout" / "validation" / "part-00000.csv"), hx[:150], hy[:150])
    write_part(str(processing / "holdout" / "validation" / "part-00001.csv"), hx[150:], hy[150:])
    tx, ty = churn(800, seed=12)
    candidate = model_archive(str(processing / "candidate" / "model.tar.gz"), tx, ty, 30)
    return types.SimpleNamespace(path=tmp_path, holdout=(hx, hy), train=(tx, ty), candidate=candidate)


def run(root, capsys):
    previous = os.environ.get("SM_ROOT")
    os.environ["SM_ROOT"] = str(root.path)
    try:
        status = evaluate.main()
    finally:
        os.environ.pop("SM_ROOT") if previous is None else os.environ.__setitem__("SM_ROOT", previous)
    out, err = capsys.readouterr()
    return status, out, err


def report(root):
    return json.loads((root.path / "processing" / "report" / "evaluation.json").read_text())


# Independent reference computations.
def pairwise_auc(labels, scores):
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return 0.5
    return ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))


def reference_metrics(labels, scores):
    p = [min(1 - 1e-15, max(1e-15, float(s))) for s in scores]
    logloss = -sum(y * math.log(q) + (1 - y) * math.log(1 - q) for y, q in zip(labels, p)) / len(labels)
    accuracy = sum((1 if s >= 0.5 else 0) == y for y, s in zip(labels, scores)) / len(labels)
    return {"validation:auc": pairwise_auc(labels, scores), "validation:accuracy": accuracy, "validation:logloss": logloss}


def test_scores_the_candidate_and_reports_no_champion(root, capsys):
    status, out, err = run(root, capsys)
    assert status == 0, err
    got = report(root)
    hx, hy = root.holdout
    assert got["holdout"] == {"rows": 300}
    assert got["positives"] == int(hy.sum()) and 0 < got["positives"] < 300
    assert got["champion"] is None
    scores = root.candidate.predict(xgb.DMatrix(hx, missing=np.nan))
    for name, value in reference_metrics(hy, scores).items():
        assert got["candidate"]["metrics"][name] == pytest.approx(value, abs=1e-6), name
    assert got["candidate"]["metrics"]["validation:auc"] > 0.8
    assert out.splitlines() == [f"#metric candidate:{k}={v}" for k, v in got["candidate"]["metrics"].items()]


def test_an_empty_champion_directory_is_no_champion(root, capsys):
    os.makedirs(root.path / "processing" / "champion")
    assert run(root, capsys)[0] == 0
    assert report(root)["champion"] is None


def test_scores_the_champion_on_the_same_holdout(root, capsys):
    tx, ty = root.train
    champion = model_archive(str(root.path / "processing" / "champion" / "model.tar.gz"), tx[:200], ty[:200], 3)
    status, out, _ = run(root, capsys)
    assert status == 0
    got = report(root)
    hx, hy = root.holdout
    scores = champion.predict(xgb.DMatrix(hx, missing=np.nan))
    for name, value in reference_metrics(hy, scores).items():
        assert got["champion"]["metrics"][name] == pytest.approx(value, abs=1e-6), name
    assert got["champion"]["metrics"] != got["candidate"]["metrics"]
    assert "#metric champion:validation:auc=" in out


def test_refuses_a_champion_trained_on_another_encoding(root, capsys):
    tx, ty = root.train
    archive = str(root.path / "processing" / "champion" / "model.tar.gz")
    model_archive(archive, tx[:, :4], ty, 3)
    status, _, err = run(root, capsys)
    assert status == 1
    assert archive in err and "takes 4 features but encoding.json has 6 columns" in err
    assert not (root.path / "processing" / "report" / "evaluation.json").exists()


def test_refuses_without_a_candidate(root, capsys):
    os.remove(root.path / "processing" / "candidate" / "model.tar.gz")
    status, _, err = run(root, capsys)
    assert status == 1 and "candidate/model.tar.gz: no candidate model" in err


def test_refuses_an_empty_holdout(root, capsys):
    for name in os.listdir(root.path / "processing" / "holdout" / "validation"):
        open(root.path / "processing" / "holdout" / "validation" / name, "w").close()
    status, _, err = run(root, capsys)
    assert status == 1 and "the holdout is empty" in err


def test_refuses_a_non_numeric_value_naming_file_and_line(root, capsys):
    part = root.path / "processing" / "holdout" / "validation" / "part-00001.csv"
    lines = part.read_text().splitlines()
    lines[4] = "1,12,abc,3,1,0,0"
    part.write_text("\n".join(lines) + "\n")
    status, _, err = run(root, capsys)
    assert status == 1 and f"{part} line 5: 'abc' is not a number" in err


def test_runs_as_the_processing_job_runs_it(root):
    """python3 evaluate.py with only SM_ROOT, as in the image: a real process, exit status and stdout."""
    result = subprocess.run([sys.executable, EVALUATE], env={**os.environ, "SM_ROOT": str(root.path)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("#metric candidate:validation:") == 3
    os.remove(root.path / "processing" / "candidate" / "model.tar.gz")
    result = subprocess.run([sys.executable, EVALUATE], env={**os.environ, "SM_ROOT": str(root.path)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "no candidate model" in result.stderr


@pytest.mark.parametrize("labels, scores", [
    ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
    ([0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.5, 0.9, 0.2, 0.2]),  # ties across classes count half
    ([1, 1, 1], [0.2, 0.3, 0.4]),  # one class only
    ([0, 1], [0.7, 0.7]),
])
def test_auc_is_the_pairwise_probability_with_ties_half(labels, scores):
    labels, scores = np.array(labels), np.array(scores)
    assert evaluate.auc(labels, scores) == pytest.approx(pairwise_auc(labels, scores))


def test_log_loss_clips_certain_mistakes():
    # Each probability is clipped into [1e-15, 1 - 1e-15] (1 - 1e-15 as a double, as metrics.ts has it).
    expected = -(math.log(1e-15) + math.log(1 - (1 - 1e-15))) / 2
    assert evaluate.log_loss([1, 0], [0.0, 1.0]) == pytest.approx(expected, rel=1e-12)
    assert evaluate.log_loss([1, 0], [0.0, 1.0]) > 34
    assert evaluate.accuracy([1, 0, 1], [0.5, 0.49, 0.2]) == pytest.approx(2 / 3)
