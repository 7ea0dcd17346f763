#!/usr/bin/env bash
# Drills: live measurements that print figures (detection and false-alarm rates, the asv suite and
# the asv regression drill, what adaptive batches gain). None of them gates CI: their outcome
# depends on this machine and its load. Each prints its figures (pytest -s); a drill fails when a
# figure misses its target.
# Usage: bash dev/drills.sh [pytest arguments, e.g. -k detection]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 -m pytest -m drill -s -p no:cacheprovider tests/drills "$@"
