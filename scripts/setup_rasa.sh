#!/usr/bin/env bash
# The Rasa environment (.venv-rasa): Rasa 3.6.21 runs only on Python <= 3.10, so it lives in
# its own virtual environment and talks to the rest over HTTP, as in production.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-rasa
STAMP="$VENV/.installed-$(sha256sum nlu/requirements.txt | cut -c1-16)"
[ -f "$STAMP" ] && exit 0

find_python310() {
  for candidate in "${PYTHON310:-}" python3.10 "$HOME/.pyenv/versions/3.10"*/bin/python3.10; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v uv >/dev/null 2>&1 && uv python find 3.10 >/dev/null 2>&1; then
    uv python find 3.10; return 0
  fi
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if ! PY=$(find_python310); then
    cat >&2 <<'MSG'
Python 3.10 is needed for Rasa 3.6 (the last open-source Rasa runs only on Python <= 3.10)
and was not found. Install it with one of:
  pyenv install 3.10                          (https://github.com/pyenv/pyenv)
  uv python install 3.10                      (https://docs.astral.sh/uv/)
or point PYTHON310 at a python3.10 binary, then run this command again.
MSG
    exit 1
  fi
  echo "==> creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
echo "==> installing Rasa 3.6.21 into $VENV (about 90 s)"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r nlu/requirements.txt
rm -f "$VENV"/.installed-*
touch "$STAMP"
