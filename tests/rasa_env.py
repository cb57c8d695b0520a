"""Run a Python snippet in the Rasa environment (.venv-rasa), where `rasa` imports."""

from __future__ import annotations

import subprocess

import pytest

from core.settings import PROJECT_ROOT


def run_in_rasa_env(script: str, timeout: int = 300) -> str:
    """Run `script` with .venv-rasa's Python from the project root; fail the test unless it
    exits 0 and its output ends with "ok". Returns the output."""
    python = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
    if not python.exists():
        pytest.fail("The Rasa environment is missing: run `make setup`.")
    out = subprocess.run([str(python), "-c", script], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=timeout,
                         env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
    return out.stdout
