#!/usr/bin/env bash
# Set up everything on a fresh machine, idempotently:
#   1. the application environment (.venv, Python 3.11) with the project installed;
#   2. the database schema, the knowledge base (imported and published), the domain-tuned
#      embedding model and the search index (`govbot kb setup`).
# A second run takes a few seconds: each step is skipped when its inputs did not change.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"

find_python311() {
  for candidate in "${PYTHON311:-}" python3.11 "$HOME/.pyenv/versions/3.11"*/bin/python3.11; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

if [ ! -f "$STAMP" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    if ! PY=$(find_python311); then
      cat >&2 <<'MSG'
Python 3.11 is needed for the application environment and was not found.
Install it with one of:
  pyenv install 3.11 && pyenv local 3.11      (https://github.com/pyenv/pyenv)
  uv python install 3.11                      (https://docs.astral.sh/uv/)
or point PYTHON311 at a python3.11 binary, then run this command again.
MSG
      exit 1
    fi
    echo "==> creating $VENV with $PY"
    "$PY" -m venv "$VENV"
  fi
  echo "==> installing the application environment (torch CPU build pinned)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # torch first and pinned: an unpinned resolution would pull a multi-GB CUDA build.
  "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
  "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi

echo "==> database, knowledge base, tuned embeddings, search index"
"$VENV/bin/govbot" kb setup
