#!/usr/bin/env bash
# CI for the asv suite, in the existing environment (no virtualenv is built):
#   1. `asv check`: every benchmark module imports and every benchmark has the right signature;
#   2. every benchmark once (`asv run --quick`) at this commit, each in a process forked from one
#      that has imported the suite (asv's forkserver: a third of the time of a fresh interpreter
#      per benchmark), with 1 MiB instead of 8 MiB payloads for the large class (still the
#      engine's large class; KIT_ASV_LARGE_BYTES);
#   3. fail when a benchmark errored. A benchmark that skips (NotImplementedError: library or GPU
#      absent) is fine; one that raises, times out or crashes is not. A failed benchmark is run
#      once more: failing again fails CI, passing is reported as flaky (pyarrow's parquet threads
#      can abort a process at exit, apache/arrow#34314).
# Results, asv's machine file and kit's wisdom go to a temporary folder: nothing in the
# repository or in ~/.asv-machine.json changes.
#
# Usage: bash dev/asv_ci.sh [asv run options, e.g. -b REGEX]
#        KIT_ASV_BENCHMARKS=DIR bash dev/asv_ci.sh   checks another benchmark folder
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bench_dir=$(cd "${KIT_ASV_BENCHMARKS:-$root/benchmarks}" && pwd)
python=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kit-asv-ci.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
commit=$(git -C "$root" rev-parse HEAD)

# The project's configuration with every path absolute and the outputs in $tmp.
"$python" - "$root" "$bench_dir" "$tmp" <<'PY'
import json, os, sys
root, bench_dir, tmp = sys.argv[1:]
with open(os.path.join(root, "asv.conf.json")) as f:
    conf = json.load(f)
conf.update(repo=root, benchmark_dir=bench_dir, results_dir=os.path.join(tmp, "results"),
            html_dir=os.path.join(tmp, "html"), env_dir=os.path.join(tmp, "env"))
with open(os.path.join(tmp, "asv.conf.json"), "w") as f:
    json.dump(conf, f, indent=4)
PY

# Reads the saved results (null = failed, NaN = skipped), prints a summary and writes the failed
# benchmarks, in the "name(params)" form that -b matches, to the file given.
cat > "$tmp/failures.py" <<'PY'
import glob, itertools, json, os, sys
results_dir, out = sys.argv[1:]
failed, counts = [], {"measured": 0, "skipped": 0, "failed": 0}
files = [p for p in glob.glob(os.path.join(results_dir, "*", "*.json")) if os.path.basename(p) != "machine.json"]
for path in files:
    with open(path) as f:
        data = json.load(f)
    cols = data["result_columns"]
    for name, row in sorted(data["results"].items()):
        row = dict(zip(cols, row))
        params = row.get("params") or []
        combos = list(itertools.product(*params)) if params else [()]
        values = row["result"] if isinstance(row["result"], list) else [row["result"]] * len(combos)
        for combo, value in itertools.zip_longest(combos, values):
            if value is None:
                counts["failed"] += 1
                failed.append(f"{name}({', '.join(combo)})" if combo else name)
            elif value != value:  # NaN
                counts["skipped"] += 1
            else:
                counts["measured"] += 1
print(f"asv_ci: {counts['measured']} measured, {counts['skipped']} skipped, {counts['failed']} failed")
durations = {}
for path in files:
    with open(path) as f:
        data = json.load(f)
    cols = data["result_columns"]
    durations.update({k: dict(zip(cols, v)).get("duration") or 0 for k, v in data["results"].items()})
    durations.update(data.get("durations", {}))
slowest = sorted(durations.items(), key=lambda kv: -kv[1])[:8]
print("asv_ci: slowest: " + ", ".join(f"{k} {v:.0f} s" for k, v in slowest))
with open(out, "w") as f:
    f.write("".join(name + "\n" for name in failed))
sys.exit(0 if files else 3)
PY

export HOME="$tmp/home" KIT_CACHE_DIR="$tmp/kit-cache"  # asv's machine file, kit's wisdom
# 1 MiB payloads for the large class (still the engine's large class): a check that every benchmark
# runs does not need 8 MiB of lzma per call. The figures of this run are thrown away.
export KIT_ASV_LARGE_BYTES=${KIT_ASV_LARGE_BYTES:-1048576}
mkdir -p "$HOME"
asv() { "$python" -m asv "$@"; }
asv machine --yes >/dev/null

run() {  # run <log> [asv run options]: one quick pass; returns asv's exit status
    local log=$1
    shift
    set +e
    asv run --config "$tmp/asv.conf.json" --python=same --quick --show-stderr --set-commit-hash "$commit" \
        --launch-method forkserver "$@" 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    set -e
    return "$status"
}

echo "== asv check"
asv check --config "$tmp/asv.conf.json" --python=same

echo "== asv run --quick (every benchmark once)"
if run "$tmp/run.log" "$@"; then status=0; else status=$?; fi
"$python" "$tmp/failures.py" "$tmp/results" "$tmp/failed" || { echo "asv_ci: no results were saved"; exit 1; }

if [ -s "$tmp/failed" ]; then
    cp "$tmp/failed" "$tmp/failed-first"
    regex=$("$python" -c 'import re, sys
print("|".join("^" + re.escape(n.strip()) + "$" for n in open(sys.argv[1]) if n.strip()))' "$tmp/failed")
    echo "== asv run --quick once more, on the $(wc -l < "$tmp/failed") failed benchmark(s)"
    if run "$tmp/rerun.log" -b "$regex"; then status=0; else status=$?; fi
    "$python" "$tmp/failures.py" "$tmp/results" "$tmp/failed" >/dev/null
    while read -r name; do
        if grep -qxF "$name" "$tmp/failed"; then
            echo "asv_ci: FAILED $name"
        else
            echo "asv_ci: flaky (failed, then passed) $name"
        fi
    done < "$tmp/failed-first"
fi
echo "asv_ci: asv exit status $status; $(( $(date +%s) - start )) s"
[ ! -s "$tmp/failed" ] && [ "$status" = 0 ]
