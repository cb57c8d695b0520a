# Shared shell helpers for the setup scripts (sourced, not run).

# find_python MINOR OVERRIDE_VAR: print the path of a python3.MINOR (from $OVERRIDE_VAR, the
# PATH, pyenv's versions or uv), or return 1.
find_python() {
  local minor=$1 override=${!2:-}
  for candidate in "$override" "python3.$minor" "$HOME/.pyenv/versions/3.$minor"*/bin/python3."$minor"; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != (3, $minor))" 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v uv >/dev/null 2>&1 && uv python find "3.$minor" >/dev/null 2>&1; then
    uv python find "3.$minor"; return 0
  fi
  return 1
}

# missing_python MINOR OVERRIDE_VAR WHY: explain how to get that Python, on stderr.
missing_python() {
  cat >&2 <<MSG
Python 3.$1 is needed ($3) and was not found. Install it with one of:
  pyenv install 3.$1                          (https://github.com/pyenv/pyenv)
  uv python install 3.$1                      (https://docs.astral.sh/uv/)
or point $2 at a python3.$1 binary, then run this command again.
MSG
}

# ensure_venv DIR MINOR OVERRIDE_VAR WHY: create the virtual environment DIR with Python
# 3.MINOR unless it exists; exit with the how-to message when that Python is missing.
ensure_venv() {
  local dir=$1 minor=$2 var=$3 why=$4 py
  [ -x "$dir/bin/python" ] && return 0
  if ! py=$(find_python "$minor" "$var"); then
    missing_python "$minor" "$var" "$why"
    exit 1
  fi
  echo "==> creating $dir with $py"
  "$py" -m venv "$dir"
}
