"""The suite tests what it says it tests: the source tree, or (CARETAKER_CLIENT_INSTALLED=1, test.sh's second
run) the package pip built and installed from pyproject.toml, with its metadata."""
from __future__ import annotations

import importlib.metadata
import os
import re
from pathlib import Path

import caretaker_client

SOURCE = Path(__file__).resolve().parents[1] / "src"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _declared_version() -> str:
    match = re.search(r'^version = "([^"]+)"$', PYPROJECT.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "pyproject.toml declares no version"
    return match.group(1)


def test_the_client_under_test_is_the_one_this_run_means() -> None:
    loaded = Path(caretaker_client.__file__).resolve()
    if os.environ.get("CARETAKER_CLIENT_INSTALLED") == "1":
        assert SOURCE not in loaded.parents, f"the installed run imported the source tree: {loaded}"
        assert "site-packages" in loaded.parts
        assert importlib.metadata.version("caretaker-client") == _declared_version()
        requires = importlib.metadata.requires("caretaker-client") or []
        assert any(r.startswith("botocore") for r in requires)
        assert any("pandas" in r and "extra" in r for r in requires)
    else:
        assert SOURCE in loaded.parents, f"the source run imported another copy: {loaded}"
