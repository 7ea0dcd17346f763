#!/usr/bin/env bash
# Install everything (pinned), make sure the browser tests have Debian's Chromium, run every test.
# Usage: bash dev/test.sh [pytest arguments]   (with arguments: one pytest process, as given)
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
if [ "$#" -gt 0 ]; then
  exec python3 -m pytest "$@"
fi
# Every test, in two pytest processes side by side (a machine of the project's kind has 2 cores, and
# one process leaves one of them mostly idle while notebooks, browsers and servers start): the
# notebook, browser, fleet and CLI tests in one, everything else in the other. Each prints its own
# report, then the exit status is the worse of the two.
first=(tests/test_notebooks_browser.py tests/test_notebooks_execute.py tests/test_json_differential.py
       tests/test_intervals.py tests/test_fleet.py tests/test_cli_score.py tests/test_terminal_width.py)
logs=$(mktemp -d)
python3 -m pytest "${first[@]}" > "$logs/first.log" 2>&1 &
one=$!
python3 -m pytest "${first[@]/#/--ignore=}" > "$logs/rest.log" 2>&1 &
two=$!
set +e
wait "$one"; first_rc=$?
wait "$two"; rest_rc=$?
set -e
echo "== tests, part 1 of 2: ${first[*]}"
cat "$logs/first.log"
echo "== tests, part 2 of 2: the others"
cat "$logs/rest.log"
rm -rf "$logs"
exit $(( first_rc > rest_rc ? first_rc : rest_rc ))
