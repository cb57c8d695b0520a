#!/usr/bin/env bash
# Set up everything on a fresh machine, idempotently:
#   1. the application environment (.venv, Python 3.11) with the project installed;
#   2. the database schema, the knowledge base (imported and published), the domain-tuned
#      embedding model and the search index (`govbot kb setup`);
#   3. the demo team directory, imported only while the directory is empty.
# A second run takes a few seconds: each step is skipped when its inputs did not change.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"

. scripts/lib.sh

if [ ! -f "$STAMP" ]; then
  ensure_venv "$VENV" 11 PYTHON311 "for the application environment"
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

echo "==> team directory (the demo teams, only while the directory is empty)"
"$VENV/bin/govbot" teams import teams/demo_directory.yml --if-empty
