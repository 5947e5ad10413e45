"""Local stand-in for `train` in SageMaker's built-in XGBoost image (sagemaker-xgboost:1.7-1),
algorithm mode, driving the real xgboost library.

Modelled on github.com/aws/sagemaker-xgboost-container, branch 1.7-1 (read, not copied):
  - training.py / algorithm_mode/train.py        the job: validate, read channels, train, save
  - algorithm_mode/hyperparameter_validation.py  the accepted names, types and ranges
  - sagemaker_algorithm_toolkit/hyperparameter_validation.py  how values are parsed and refused
  - algorithm_mode/metrics.py                    the metric regexes (METRIC_REGEX below)
  - callback.py                                  EvaluationMonitor + checkpoint + early stopping
  - checkpointing.py                             `xgboost-checkpoint.<n>` files, resume from newest
  - constants/xgb_constants.py                   MODEL_NAME, the metric names
  - data_utils.py                                which files of a channel are data files
and sagemaker-containers' _trainer.py (failure file, exit code). Documented behaviour: SageMaker
Developer Guide, "XGBoost algorithm" (Input/Output interface: text/csv has the label in the first
column and no header), "XGBoost hyperparameters", "Tune an XGBoost model" (validation:* metrics),
"Use checkpoints" (/opt/ml/checkpoints, resumed on restart).

Deviations (see README.md): CPU only (gpu_hist trains with hist); text/csv only; single host;
checkpoints by default (not only with a CheckpointConfig); a small set of the container's
custom metrics (accuracy, mae, mse, rmse).
"""
import json
import logging
import math
import os
import re
import sys
import tempfile
import traceback

import numpy as np
import xgboost as xgb

MODEL_NAME = "xgboost-model"            # constants/xgb_constants.py
CHECKPOINT_NAME = "xgboost-checkpoint"  # checkpointing.py CHECKPOINT_FILENAME
CHECKPOINTS_TO_KEEP = 5                 # checkpointing.py SaveCheckpointCallBack max_to_keep

# xgb_constants.py: the metric names SageMaker knows, and their direction.
MAXIMIZE = ["accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg",
            "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro"]
MINIMIZE = ["aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
            "logloss", "mae", "mape", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
            "tweedie-nloglik"]

# algorithm_mode/metrics.py: SageMaker's metric definition for `validation:<name>`. It matches the
# line as CloudWatch shows it, where the tab between entries is written `#011`.
METRIC_REGEX = r".*\[[0-9]+\].*#011validation-{}:(\S+)"

log = logging.getLogger("sagemaker-xgboost")


class UserError(Exception):
    """A refusal the user can fix (sagemaker_algorithm_toolkit.exceptions.UserError)."""


# ----------------------------------------------------------------------------------------------
# Hyperparameters (algorithm_mode/hyperparameter_validation.py, 1.7-1). SageMaker writes every
# value as a string; each is parsed to its type, then checked against its range.

def interval(low=None, high=None, low_open=False, high_open=False):
    def contains(v):
        return not ((low is not None and (v <= low if low_open else v < low))
                    or (high is not None and (v >= high if high_open else v > high)))
    text = f"{'(' if low_open or low is None else '['}{'-inf' if low is None else low}, " \
           f"{'+inf' if high is None else high}{')' if high_open or high is None else ']'}"
    return contains, text


def one_of(*values):
    return (lambda v: v in values), list(values)


def eval_metric_ok(metric):
    # hyperparameter_validation.py eval_metric_range_validator: a known name, or error/ndcg/map@<float>.
    if "@" in metric:
        name, threshold = metric.split("@", 1)
        if name.strip() not in ("error", "ndcg", "map"):
            return False
        try:
            float(threshold)
        except ValueError:
            return False
        return True
    return metric in MAXIMIZE + MINIMIZE


INT, FLOAT, TEXT, LIST = int, float, str, lambda s: s.split(",")
UNIT = interval(0, 1)
FRACTION = interval(0, 1, low_open=True)
NON_NEGATIVE = interval(0)
BOOL_TEXT = one_of("true", "false")
OBJECTIVES = one_of("aft_loss_distribution", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
                    "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear",
                    "reg:squarederror", "reg:logistic", "reg:gamma", "reg:pseudohubererror", "reg:squaredlogerror",
                    "reg:absoluteerror", "reg:tweedie", "survival:aft", "survival:cox")
TREE_UPDATERS = ["grow_colmaker", "distcol", "grow_histmaker", "grow_skmaker", "sync", "refresh", "prune",
                 "grow_quantile_histmaker", "shotgun", "coord_descent"]

# name: (parse, (check, description)). `device` is not here: 1.7-1 refuses it (it came with xgboost 2.0).
HYPERPARAMETERS = {
    "num_round": (INT, interval(1)),
    "csv_weights": (INT, interval(0, 1)),
    "early_stopping_rounds": (INT, interval(1)),
    "booster": (TEXT, one_of("gbtree", "gblinear", "dart")),
    "verbosity": (INT, interval(0, 3)),
    "nthread": (INT, interval(1)),
    "eta": (FLOAT, UNIT),
    "gamma": (FLOAT, NON_NEGATIVE),
    "max_depth": (INT, NON_NEGATIVE),
    "min_child_weight": (FLOAT, NON_NEGATIVE),
    "max_delta_step": (FLOAT, NON_NEGATIVE),
    "subsample": (FLOAT, FRACTION),
    "colsample_bytree": (FLOAT, FRACTION),
    "colsample_bylevel": (FLOAT, FRACTION),
    "colsample_bynode": (FLOAT, FRACTION),
    "lambda": (FLOAT, NON_NEGATIVE),
    "alpha": (FLOAT, NON_NEGATIVE),
    "tree_method": (TEXT, one_of("auto", "exact", "approx", "hist", "gpu_hist")),
    "sketch_eps": (FLOAT, interval(0, 1, low_open=True, high_open=True)),
    "scale_pos_weight": (FLOAT, interval(0, low_open=True)),
    "updater": (LIST, ((lambda v: all(u in TREE_UPDATERS for u in v)), TREE_UPDATERS)),
    "dsplit": (TEXT, one_of("row", "col")),
    "refresh_leaf": (INT, interval(0, 1)),
    "process_type": (TEXT, one_of("default", "update")),
    "grow_policy": (TEXT, one_of("depthwise", "lossguide")),
    "max_leaves": (INT, NON_NEGATIVE),
    "max_bin": (INT, NON_NEGATIVE),
    "predictor": (TEXT, one_of("auto", "cpu_predictor", "gpu_predictor")),
    "monotone_constraints": (TEXT, (lambda v: True, "a tuple of -1, 0, 1")),
    "interaction_constraints": (TEXT, (lambda v: True, "a nested list of feature indexes")),
    "sample_type": (TEXT, one_of("uniform", "weighted")),
    "normalize_type": (TEXT, one_of("tree", "forest")),
    "rate_drop": (FLOAT, UNIT),
    "one_drop": (INT, interval(0, 1)),
    "skip_drop": (FLOAT, UNIT),
    "lambda_bias": (FLOAT, UNIT),
    "tweedie_variance_power": (FLOAT, interval(1, 2, low_open=True, high_open=True)),
    "objective": (TEXT, OBJECTIVES),
    "num_class": (INT, interval(2)),
    "base_score": (FLOAT, NON_NEGATIVE),
    "_kfold": (INT, interval(2)),
    "_num_cv_round": (INT, interval(1)),
    "_tuning_objective_metric": (TEXT, ((lambda v: v.startswith("validation:") or v.startswith("train:")),
                                        "validation:<metric> or train:<metric>")),
    "eval_metric": (LIST, ((lambda v: all(eval_metric_ok(m) for m in v)), MAXIMIZE + MINIMIZE)),
    "seed": (INT, interval(-(2 ** 31), 2 ** 31 - 1, low_open=True, high_open=True)),
    "num_parallel_tree": (INT, interval(1)),
    "save_model_on_termination": (TEXT, BOOL_TEXT),
    "aft_loss_distribution": (TEXT, one_of("normal", "logistic", "extreme")),
    "aft_loss_distribution_scale": (FLOAT, NON_NEGATIVE),
    "deterministic_histogram": (TEXT, BOOL_TEXT),
    "sampling_method": (TEXT, one_of("uniform", "gradient_based")),
    "prob_buffer_row": (INT, interval(1, low_open=True)),
    "use_dask_gpu_training": (TEXT, BOOL_TEXT),
}
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}
REQUIRED = ["num_round"]
# Options of the job, not of xgboost's booster (popped in algorithm_mode/train.py before xgb.train).
JOB_OPTIONS = ["num_round", "csv_weights", "early_stopping_rounds", "_kfold", "_num_cv_round",
               "_tuning_objective_metric", "save_model_on_termination", "use_dask_gpu_training"]


def validate_hyperparameters(raw):
    """Refuses as the toolkit does: aliases first, then required, unknown, unparsable, out of range, dependencies."""
    given = {ALIASES.get(name, name): value for name, value in raw.items()}
    for name in REQUIRED:
        if name not in given:
            raise UserError(f"Missing required hyperparameter: {name}")
    parsed = {}
    for name, value in given.items():
        if name not in HYPERPARAMETERS:
            raise UserError(f"Extraneous hyperparameter found: {name}")
        parse, (check, description) = HYPERPARAMETERS[name]
        try:
            parsed[name] = parse(str(value))
        except ValueError:
            raise UserError(f"Hyperparameter {name}: could not parse value (caused by ValueError)")
        if not check(parsed[name]):
            raise UserError(f"Hyperparameter {name}: {parsed[name]} is not in {description}")
    objective = parsed.get("objective", "reg:squarederror")
    if objective in ("multi:softmax", "multi:softprob") and "num_class" not in parsed:
        raise UserError("Require input for parameter 'num_class' for multi-classification")
    if "auc" in parsed.get("eval_metric", []) and not objective.startswith(("binary:", "rank:")):
        raise UserError("Metric 'auc' can only be applied for classification and ranking problems.")
    if "use_dask_gpu_training" in parsed and parsed["use_dask_gpu_training"] == "true":
        raise UserError("use_dask_gpu_training: the local stand-in trains on one host and no GPU")
    if "_kfold" in parsed:
        raise UserError("_kfold: cross-validation is not modelled by the local stand-in")
    return parsed


# ----------------------------------------------------------------------------------------------
# Custom metrics. The container computes these names itself (metrics/custom_metrics.py CUSTOM_METRICS,
# passed to xgb.train as feval), not xgboost; the stand-in computes accuracy, mae, mse and rmse.

CUSTOM_METRICS = ["accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse", "rmse", "mae", "precision",
                  "precision_macro", "precision_micro", "r2", "recall", "recall_macro", "recall_micro"]

def custom_metric_fn(names, objective):
    def accuracy(predt, labels):
        if predt.ndim == 2:
            return float(np.mean(np.argmax(predt, axis=1) == labels))
        threshold = 0.0 if objective in ("binary:logitraw",) else 0.5
        return float(np.mean((predt > threshold).astype(float) == labels))

    functions = {
        "accuracy": accuracy,
        "mae": lambda predt, labels: float(np.mean(np.abs(predt - labels))),
        "mse": lambda predt, labels: float(np.mean((predt - labels) ** 2)),
        "rmse": lambda predt, labels: float(np.sqrt(np.mean((predt - labels) ** 2))),
    }
    unsupported = [n for n in names if n not in functions]
    if unsupported:
        raise UserError(f"eval_metric {','.join(unsupported)}: not computed by the local stand-in "
                        f"(it computes {', '.join(functions)} besides xgboost's own metrics)")

    def metric(predt, dmatrix):
        labels = dmatrix.get_label()
        return [(name, functions[name](predt, labels)) for name in names]

    return metric


# ----------------------------------------------------------------------------------------------
# Data: text/csv, label first, no header, numeric, an empty value is missing.

def data_files(channel_dir):
    """Every data file under the channel (data_utils._is_data_file: not starting with '.' or '_')."""
    found = []
    for root, dirs, files in os.walk(channel_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found += [os.path.join(root, f) for f in sorted(files) if not f.startswith((".", "_"))]
    return found


def read_csv_channel(channel_dir, csv_weights=0):
    rows, width = [], None
    for path in data_files(channel_dir):
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                values = line.split(",")
                if width is None:
                    width = len(values)
                elif len(values) != width:
                    raise UserError(f"{path} line {number}: {len(values)} values, expected {width} as in the first row")
                try:
                    rows.append([math.nan if v.strip() == "" else float(v) for v in values])
                except ValueError:
                    raise UserError(f"{path} line {number}: not numeric CSV (label first, no header): {line[:50]!r}")
    if not rows:
        return None
    data = np.asarray(rows, dtype=np.float64)
    first_feature = 1 + csv_weights
    if width is None or width <= first_feature:
        raise UserError(f"{channel_dir}: rows need a label{' and a weight' if csv_weights else ''} and at least one feature")
    labels = data[:, 0]
    if np.isnan(labels).any():
        raise UserError(f"{channel_dir}: a row has no label (the first column is empty)")
    weights = data[:, 1] if csv_weights else None
    return xgb.DMatrix(data[:, first_feature:], label=labels, weight=weights, missing=math.nan)


# ----------------------------------------------------------------------------------------------
# Checkpoints (checkpointing.py): after each round `xgboost-checkpoint.<round>` (0-based, counted
# from the job's first round), written to a temporary file and renamed; the 5 newest are kept, a
# file SageMaker is still uploading (`<name>.sagemaker-uploading` without `.sagemaker-uploaded`)
# is not deleted. A restarted job resumes from the newest one.
#
# The 1.7-1 branch's callback.py wires xgboost's own TrainingCheckPoint instead, which with
# xgboost 1.7 writes `xgboost-checkpoint_0.json` once and which load_checkpoint does not read;
# the stand-in follows checkpointing.py, whose naming and resume the container documents.

CHECKPOINT_PATTERN = re.compile(r"^" + CHECKPOINT_NAME + r"\.([0-9]+)$")


def latest_checkpoint(directory):
    """(path, rounds already done) of the newest checkpoint, or (None, 0)."""
    if not directory or not os.path.isdir(directory):
        return None, 0
    rounds = [int(m.group(1)) for m in map(CHECKPOINT_PATTERN.match, os.listdir(directory)) if m]
    if not rounds:
        return None, 0
    newest = max(rounds)
    return os.path.join(directory, f"{CHECKPOINT_NAME}.{newest}"), newest + 1


class SaveCheckpoint(xgb.callback.TrainingCallback):
    def __init__(self, directory, start_round):
        super().__init__()
        self.directory = directory
        self.start_round = start_round
        os.makedirs(directory, exist_ok=True)

    def after_iteration(self, model, epoch, evals_log):
        done = self.start_round + epoch
        with tempfile.NamedTemporaryFile(dir=self.directory, suffix=".sagemaker-ignore", delete=False) as tmp:
            pass
        model.save_model(tmp.name)
        os.replace(tmp.name, os.path.join(self.directory, f"{CHECKPOINT_NAME}.{done}"))
        stale = os.path.join(self.directory, f"{CHECKPOINT_NAME}.{done - CHECKPOINTS_TO_KEEP}")
        uploading = os.path.exists(stale + ".sagemaker-uploading") and not os.path.exists(stale + ".sagemaker-uploaded")
        if done >= CHECKPOINTS_TO_KEEP and os.path.exists(stale) and not uploading:
            os.remove(stale)
        return False


# ----------------------------------------------------------------------------------------------

def checkpoint_dir(root):
    """CheckpointConfig.LocalPath from input/config/checkpointconfig.json, else <root>/checkpoints."""
    config = os.path.join(root, "input", "config", "checkpointconfig.json")
    local = "/opt/ml/checkpoints"
    if os.path.exists(config):
        with open(config) as handle:
            local = json.load(handle).get("LocalPath", local)
    return os.path.join(root, os.path.relpath(local, "/opt/ml")) if local.startswith("/opt/ml") else local


def train(root):
    with open(os.path.join(root, "input", "config", "hyperparameters.json")) as handle:
        params = validate_hyperparameters(json.load(handle))

    # GPU: the image trains on the instance's GPU with tree_method=gpu_hist. This machine has none
    # (and Debian's xgboost is built without CUDA), so the stand-in grows hist trees on the CPU
    # (the same algorithm; a GPU's trees may differ slightly).
    if params.get("tree_method") == "gpu_hist":
        log.info("tree_method=gpu_hist: no GPU on this machine, the local stand-in trains with tree_method=hist")
        params["tree_method"] = "hist"
    if params.get("predictor") == "gpu_predictor":
        params["predictor"] = "cpu_predictor"

    job = {name: params.pop(name) for name in JOB_OPTIONS if name in params}
    num_round = job["num_round"]
    csv_weights = job.get("csv_weights", 0)
    if "updater" in params:
        params["updater"] = ",".join(params["updater"])

    train_dir = os.path.join(root, "input", "data", "train")
    validation_dir = os.path.join(root, "input", "data", "validation")
    dtrain = read_csv_channel(train_dir, csv_weights) if os.path.isdir(train_dir) else None
    if dtrain is None:
        raise UserError(f"No data in training channel path {train_dir}")
    dvalidation = None
    if os.path.isdir(validation_dir):
        dvalidation = read_csv_channel(validation_dir, csv_weights)
        if dvalidation is None:
            raise UserError(f"No data in validation channel path {validation_dir}")
        if dvalidation.num_col() != dtrain.num_col():
            raise UserError(f"feature_names mismatch: validation has {dvalidation.num_col()} features, "
                            f"train has {dtrain.num_col()}")
    log.info("Train matrix has %d rows and %d columns", dtrain.num_row(), dtrain.num_col())
    if dvalidation is not None:
        log.info("Validation matrix has %d rows", dvalidation.num_row())

    # Metrics: the tuning objective is evaluated too; the container's own names (CUSTOM_METRICS)
    # are computed here, the rest by xgboost.
    objective = params.get("objective", "reg:squarederror")
    metrics = list(params.pop("eval_metric", []))
    tuning = job.get("_tuning_objective_metric")
    if tuning and tuning.split(":", 1)[1] not in metrics:
        metrics.append(tuning.split(":", 1)[1])
    custom = [m for m in metrics if m in CUSTOM_METRICS]
    native = [m for m in metrics if m not in CUSTOM_METRICS]
    if native:
        params["eval_metric"] = native
    custom_metric = custom_metric_fn(custom, objective) if custom else None

    directory = checkpoint_dir(root)
    resume_from, done = latest_checkpoint(directory)
    if resume_from:
        log.info("Checkpoint loaded from %s", resume_from)
        log.info("Resuming from iteration %s", done)

    # callback.py get_callbacks: print every round, checkpoint, stop early on the validation metric.
    callbacks = [xgb.callback.EvaluationMonitor(), SaveCheckpoint(directory, done)]
    if job.get("early_stopping_rounds") and dvalidation is not None and metrics:
        last = (tuning.split(":", 1)[1] if tuning else metrics[-1])
        callbacks.append(xgb.callback.EarlyStopping(rounds=job["early_stopping_rounds"], data_name="validation",
                                                    metric_name=last, maximize=last.split("@")[0] in MAXIMIZE,
                                                    save_best=True))
    evals = [(dtrain, "train")] + ([(dvalidation, "validation")] if dvalidation is not None else [])
    try:
        booster = xgb.train(params, dtrain, num_boost_round=max(num_round - done, 0), evals=evals,
                            custom_metric=custom_metric, callbacks=callbacks, xgb_model=resume_from,
                            verbose_eval=False)
    except xgb.core.XGBoostError as error:
        raise UserError(f"XGB train call failed with exception:\n {error}")

    model_dir = os.path.join(root, "model")
    os.makedirs(model_dir, exist_ok=True)
    # No extension: xgboost 1.7 writes its binary model format, as the container's save_model does.
    booster.save_model(os.path.join(model_dir, MODEL_NAME))
    log.info("Stored trained model with %d rounds at %s", booster.num_boosted_rounds(), os.path.join(model_dir, MODEL_NAME))


def main():
    logging.basicConfig(format="[%(asctime)s:%(levelname)s] %(message)s", level=logging.INFO, stream=sys.stdout)
    root = os.environ.get("SM_ROOT", "/opt/ml")
    output = os.path.join(root, "output")
    try:
        train(root)
    except Exception as error:  # sagemaker-containers _trainer.train: failure file, then exit 1
        message = str(error) if isinstance(error, UserError) else f"framework error: \n{traceback.format_exc()}\n{error}"
        os.makedirs(output, exist_ok=True)
        with open(os.path.join(output, "failure"), "w") as handle:
            handle.write(message)
        log.error("Reporting training FAILURE: %s", message)
        return 1
    os.makedirs(output, exist_ok=True)
    open(os.path.join(output, "success"), "w").close()
    log.info("Reporting training SUCCESS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
