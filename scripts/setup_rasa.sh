#!/usr/bin/env bash
# The Rasa environment (.venv-rasa): Rasa 3.6.21 runs only on Python <= 3.10, so it lives in
# its own virtual environment and talks to the rest over HTTP, as in production.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-rasa
STAMP="$VENV/.installed-$(sha256sum nlu/requirements.txt | cut -c1-16)"
[ -f "$STAMP" ] && exit 0

. scripts/lib.sh

ensure_venv "$VENV" 10 PYTHON310 \
  "for Rasa 3.6, the last open-source Rasa, which runs only on Python <= 3.10"
echo "==> installing Rasa 3.6.21 into $VENV (about 90 s)"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r nlu/requirements.txt
rm -f "$VENV"/.installed-*
touch "$STAMP"
