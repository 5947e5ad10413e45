#!/usr/bin/env bash
# The Python client's tests, twice:
#  1. the source tree on the machine's python3 (the interpreter with moto_server; no pandas there, so
#     .to_dataframe()'s "what to install" error is what runs);
#  2. the package built and pip-installed from pyproject.toml into a venv of Debian's /usr/bin/python3, with
#     Debian's pandas (the DataFrame path) and Debian's botocore 1.29 (the oldest this package accepts).
# .ci/run installs run 2's packages (python3-pandas python3-pytest python3-botocore python3-venv python3-wheel).
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pytest -q -p no:cacheprovider

debian=/usr/bin/python3
if ! "$debian" -c 'import pandas, pytest, botocore, wheel, ensurepip' 2>/dev/null; then
  echo "test.sh: $debian needs pandas, pytest, botocore, wheel and venv for the installed-package run:" >&2
  echo "  apt-get install -y python3-pandas python3-pytest python3-botocore python3-venv python3-wheel" >&2
  exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Built from a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
cp -r pyproject.toml README.md src "$tmp/"
"$debian" -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --no-index --no-build-isolation --no-deps "$tmp"
printf '[pytest]\ntestpaths = tests\naddopts = -ra --strict-markers\n' > "$tmp/pytest.ini"
CARETAKER_CLIENT_INSTALLED=1 "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider -c "$tmp/pytest.ini" --rootdir . tests
