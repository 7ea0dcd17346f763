#!/usr/bin/env bash
# Install everything (pinned), make sure the browser tests have Debian's Chromium, run every test.
# Usage: bash dev/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements.lock -e . 2>&1 | grep -v "Running pip as the 'root' user" || true
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "dev/test.sh: installing Debian's chromium for the browser tests" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "dev/test.sh: could not install chromium; browser tests will skip" >&2
  else
    echo "dev/test.sh: chromium missing and not root; browser tests will skip" >&2
  fi
fi
exec python3 -m pytest "$@"
