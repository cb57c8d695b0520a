#!/usr/bin/env bash
# The browser for the web chat's browser test: Debian's Chromium, driven by Playwright
# (the Python package is in the dev extra; Playwright's own browser download is not used).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "==> installing Chromium for the browser test (Debian package)"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || {
    apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo apt-get install -y --no-install-recommends chromium
else
  echo "error: Chromium is missing. Install it (Debian/Ubuntu: apt-get install chromium) or set" >&2
  echo "       GOVBOT_TEST_CHROMIUM to a Chromium/Chrome binary." >&2
  exit 1
fi
