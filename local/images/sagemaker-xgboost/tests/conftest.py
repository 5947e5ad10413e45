"""Helpers for the stand-in's tests: a generated dataset whose label depends on its features, an
SM_ROOT laid out as SageMaker lays out /opt/ml, and runs of train.py as the job would run it."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

IMAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(IMAGE, "train.py")
SERVE = os.path.join(IMAGE, "serve.py")
sys.path.insert(0, IMAGE)
import train  # noqa: E402  (the module itself, for in-process runs)


def dataset(rows, seed, features=4):
    """Label 1 when a noisy linear score of the first two features is positive; about 1 in 20 values missing."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    y = (x[:, 0] + 0.7 * x[:, 1] + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    x[rng.random(size=x.shape) < 0.05] = np.nan
    return x, y


def write_csv(path, x, y):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        for label, row in zip(y, x):
            handle.write(",".join([str(label)] + ["" if np.isnan(v) else f"{v:.6f}" for v in row]) + "\n")


class Job:
    def __init__(self, root):
        self.root = str(root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def hyperparameters(self, values):
        os.makedirs(self.path("input", "config"), exist_ok=True)
        # SageMaker writes every value as a string.
        with open(self.path("input", "config", "hyperparameters.json"), "w") as handle:
            json.dump({k: str(v) for k, v in values.items()}, handle)

    def run(self, **popen):
        return subprocess.run([sys.executable, TRAIN], env={**os.environ, "SM_ROOT": self.root},
                              capture_output=True, text=True, timeout=60, **popen)

    def main(self):
        """train.main() in this process (no interpreter start-up); its exit status."""
        previous = os.environ.get("SM_ROOT")
        os.environ["SM_ROOT"] = self.root
        try:
            return train.main()
        finally:
            if previous is None:
                del os.environ["SM_ROOT"]
            else:
                os.environ["SM_ROOT"] = previous

    def failure(self):
        with open(self.path("output", "failure")) as handle:
            return handle.read()


@pytest.fixture
def job(tmp_path):
    """A job with train (two files) and validation channels."""
    j = Job(tmp_path)
    x, y = dataset(600, seed=1)
    write_csv(j.path("input", "data", "train", "part-0.csv"), x[:300], y[:300])
    write_csv(j.path("input", "data", "train", "nested", "part-1.csv"), x[300:], y[300:])
    vx, vy = dataset(200, seed=2)
    write_csv(j.path("input", "data", "validation", "part-0.csv"), vx, vy)
    j.validation = (vx, vy)
    return j
