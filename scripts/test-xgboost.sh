#!/usr/bin/env bash
# Tests of the Python side of the XGBoost example: the local stand-in for SageMaker's XGBoost
# image (local/images/sagemaker-xgboost) and the example's evaluation script
# (examples/churn-xgboost). They need the real xgboost library, which Debian packages for the
# system interpreter: /usr/bin/python3, not a pyenv or venv python3 that may be first on PATH.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${XGBOOST_PYTHON:-/usr/bin/python3}

if ! "$PYTHON" -c 'import xgboost, numpy, pytest' 2>/dev/null; then
  echo "test-xgboost: $PYTHON cannot import xgboost, numpy and pytest." >&2
  echo "Install them with: apt-get install -y python3-xgboost python3-pytest" >&2
  exit 1
fi

export PYTHONDONTWRITEBYTECODE=1
exec "$PYTHON" -m pytest -q -p no:cacheprovider local/images/sagemaker-xgboost/tests examples/churn-xgboost/tests "$@"
