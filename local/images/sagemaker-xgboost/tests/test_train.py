import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xgboost as xgb

from conftest import TRAIN

# The metric definitions SageMaker uses for the built-in XGBoost algorithm, as
# sagemaker-xgboost-container 1.7-1 algorithm_mode/metrics.py builds them.
SAGEMAKER_REGEX = r".*\[[0-9]+\].*#011validation-{}:(\S+)"
LEADING_NUMBER = re.compile(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?")


def cloudwatch(line):
    """CloudWatch Logs shows a tab of the container's output as #011."""
    return line.replace("\t", "#011")


def round_lines(stdout):
    return [line for line in stdout.splitlines() if re.match(r"^\[\d+\]\t", line)]


def pairwise_auc(labels, scores):
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return (greater + 0.5 * ties) / (len(pos) * len(neg))


def test_trains_logs_the_containers_lines_and_saves_its_model_format(job):
    job.hyperparameters({"num_round": 20, "objective": "binary:logistic", "eval_metric": "auc,logloss,accuracy",
                         "max_depth": 3, "eta": 0.3, "tree_method": "gpu_hist", "seed": 7})
    result = job.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert os.path.exists(job.path("output", "success"))
    assert not os.path.exists(job.path("output", "failure"))

    # GPU: one line says the stand-in trains with hist instead.
    assert result.stdout.count("tree_method=gpu_hist: no GPU on this machine") == 1

    lines = round_lines(result.stdout)
    assert len(lines) == 20
    # EvaluationMonitor's line: [round], then a tab before each <data>-<metric>:<value to 5 decimals>.
    entries = "".join(rf"\t{d}-{m}:-?[0-9]+\.[0-9]{{5}}" for d in ("train", "validation") for m in ("auc", "logloss", "accuracy"))
    for i, line in enumerate(lines):
        assert re.match(rf"^\[{i}\]{entries}$", line), line

    # The model: xgboost 1.7's binary format (save_model to a name without .json/.ubj), as the container saves it.
    model = job.path("model", "xgboost-model")
    with open(model, "rb") as handle:
        assert handle.read(4) == b"binf"
    booster = xgb.Booster()
    booster.load_model(model)
    assert booster.num_boosted_rounds() == 20 and booster.num_features() == 4

    vx, vy = job.validation
    scores = booster.predict(xgb.DMatrix(vx, missing=np.nan))
    auc = pairwise_auc(vy, scores)
    assert auc > 0.85

    # SageMaker's regexes match the line as CloudWatch shows it, and the values they find are the
    # model's. `(\S+)` runs on over `#011` up to the line's end unless the metric is the line's last
    # entry, so the value is the capture's leading number (all of it for the last entry).
    last = cloudwatch(lines[-1])
    captures = {m: re.match(SAGEMAKER_REGEX.format(m), last).group(1) for m in ("auc", "logloss", "accuracy")}
    assert captures["auc"].startswith(lines[-1].split("\tvalidation-auc:")[1].split("\t")[0] + "#011validation-logloss:")
    assert re.fullmatch(r"[0-9]\.[0-9]{5}", captures["accuracy"])
    found = {m: float(LEADING_NUMBER.match(c).group(0)) for m, c in captures.items()}
    assert found["auc"] == pytest.approx(auc, abs=1e-4)
    assert found["accuracy"] == pytest.approx(np.mean((scores > 0.5) == vy), abs=1e-4)
    clipped = np.clip(scores, 1e-15, 1 - 1e-15)
    assert found["logloss"] == pytest.approx(-np.mean(vy * np.log(clipped) + (1 - vy) * np.log(1 - clipped)), abs=1e-4)
    # ...for every round, and the validation entry, not the train one.
    for line in lines:
        validation = dict(re.findall(r"\tvalidation-(\w+):([^\t]+)", line))
        capture = re.match(SAGEMAKER_REGEX.format("auc"), cloudwatch(line)).group(1)
        assert LEADING_NUMBER.match(capture).group(0) == validation["auc"]


def test_a_single_metric_is_the_whole_capture(job):
    job.hyperparameters({"num_round": 3, "objective": "binary:logistic", "eval_metric": "auc"})
    result = job.run()
    assert result.returncode == 0
    for line in round_lines(result.stdout):
        capture = re.match(SAGEMAKER_REGEX.format("auc"), cloudwatch(line)).group(1)
        assert capture == line.split("\tvalidation-auc:")[1]
        assert 0.5 < float(capture) <= 1


@pytest.mark.parametrize("hyperparameters, message", [
    ({"objective": "binary:logistic"}, "Missing required hyperparameter: num_round"),
    ({"num_round": 5, "device": "cuda"}, "Extraneous hyperparameter found: device"),
    ({"num_round": 5, "eta": 1.5}, "Hyperparameter eta: 1.5 is not in [0, 1]"),
    ({"num_round": 5, "max_depth": "deep"}, "Hyperparameter max_depth: could not parse value"),
    ({"num_round": "2.5"}, "Hyperparameter num_round: could not parse value"),
    ({"num_round": 5, "subsample": 0}, "Hyperparameter subsample: 0.0 is not in (0, 1]"),
    ({"num_round": 5, "tree_method": "gpu"}, "Hyperparameter tree_method: gpu is not in"),
    ({"num_round": 5, "objective": "binary:logistic", "eval_metric": "auc,bogus"}, "Hyperparameter eval_metric:"),
    ({"num_round": 5, "objective": "reg:squarederror", "eval_metric": "auc"},
     "Metric 'auc' can only be applied for classification and ranking problems."),
    ({"num_round": 5, "objective": "multi:softprob"}, "Require input for parameter 'num_class'"),
])
def test_refuses_hyperparameters_as_the_container_does(job, hyperparameters, message):
    job.hyperparameters(hyperparameters)
    assert job.main() == 1
    assert message in job.failure()
    assert not os.path.exists(job.path("model", "xgboost-model"))


def test_a_refusal_exits_nonzero_with_the_reason_in_output_failure(job):
    job.hyperparameters({"num_round": 5, "device": "cuda"})
    result = job.run()
    assert result.returncode == 1
    assert job.failure() == "Extraneous hyperparameter found: device"
    assert "Reporting training FAILURE" in result.stdout


def test_aliases_are_accepted(job):
    job.hyperparameters({"num_round": 2, "learning_rate": 0.5, "reg_lambda": 2, "objective": "binary:logistic"})
    assert job.main() == 0
    assert os.path.exists(job.path("model", "xgboost-model"))


def test_refuses_non_numeric_data_naming_file_and_line(job):
    bad = job.path("input", "data", "train", "part-0.csv")
    with open(bad) as handle:
        lines = handle.readlines()
    lines[2] = "1,0.5,yes,0.1,0.2\n"
    with open(bad, "w") as handle:
        handle.writelines(lines)
    job.hyperparameters({"num_round": 3, "objective": "binary:logistic"})
    assert job.main() == 1
    assert f"{bad} line 3: not numeric" in job.failure()


def test_refuses_an_empty_training_channel(tmp_path):
    from conftest import Job
    j = Job(tmp_path)
    os.makedirs(j.path("input", "data", "train"))
    j.hyperparameters({"num_round": 3})
    assert j.main() == 1
    assert "No data in training channel path" in j.failure()


def checkpoints(job):
    return sorted(int(n.split(".")[1]) for n in os.listdir(job.path("checkpoints")) if re.match(r"^xgboost-checkpoint\.\d+$", n))


def test_resumes_from_the_newest_checkpoint_and_the_rounds_add_up(job):
    params = {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 3, "tree_method": "hist"}
    job.hyperparameters({**params, "num_round": 4})
    first = job.run()
    assert first.returncode == 0
    assert checkpoints(job) == [0, 1, 2, 3]
    # xgboost-checkpoint.<n> holds the model after n + 1 rounds.
    booster = xgb.Booster()
    booster.load_model(job.path("checkpoints", "xgboost-checkpoint.2"))
    assert booster.num_boosted_rounds() == 3

    job.hyperparameters({**params, "num_round": 10})
    second = job.run()
    assert second.returncode == 0
    assert "Resuming from iteration 4" in second.stdout
    assert len(round_lines(second.stdout)) == 6  # only the remaining rounds are trained
    assert checkpoints(job) == [5, 6, 7, 8, 9]  # the 5 newest are kept
    resumed = xgb.Booster()
    resumed.load_model(job.path("model", "xgboost-model"))
    assert resumed.num_boosted_rounds() == 10

    # The same trees as one uninterrupted run of 10 rounds.
    os.rename(job.path("checkpoints"), job.path("checkpoints-resumed"))
    os.rename(job.path("model", "xgboost-model"), job.path("resumed-model"))
    assert job.run().returncode == 0
    straight = xgb.Booster()
    straight.load_model(job.path("model", "xgboost-model"))
    vx, _ = job.validation
    d = xgb.DMatrix(vx, missing=np.nan)
    np.testing.assert_allclose(resumed.predict(d), straight.predict(d), rtol=1e-6)


def test_a_killed_job_restarts_from_its_checkpoints(job):
    job.hyperparameters({"objective": "binary:logistic", "num_round": 3000, "max_depth": 2})
    process = subprocess.Popen([sys.executable, TRAIN], env={**os.environ, "SM_ROOT": job.root},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline and (not os.path.isdir(job.path("checkpoints")) or len(checkpoints(job)) < 3):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # a spot interruption: no chance to clean up
    process.wait(timeout=10)
    done = checkpoints(job)[-1] + 1
    assert 3 <= done < 3000 and not os.path.exists(job.path("model", "xgboost-model"))

    job.hyperparameters({"objective": "binary:logistic", "num_round": done + 5, "max_depth": 2})
    result = job.run()
    assert result.returncode == 0
    assert f"Resuming from iteration {done}" in result.stdout
    booster = xgb.Booster()
    booster.load_model(job.path("model", "xgboost-model"))
    assert booster.num_boosted_rounds() == done + 5
