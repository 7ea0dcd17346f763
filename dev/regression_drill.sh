#!/usr/bin/env bash
# Regression drill: does the tooling flag a real 25% slowdown of one backend, and only that?
#
# In a temporary clone of this repository (HEAD = the base) the drill makes two commits:
#   slow       one backend's callable does 25% more work: a code edit appended to the module
#              that declares the backend (kit/registry/hashing.py for the default), which makes
#              the callable also process the first quarter of its input again;
#   unchanged  a comment-only edit of the same file.
# It then runs `asv continuous` between the base and each commit on that backend's benchmark
# only, and checks the exit status: 1 (regression) for `slow`, 0 for `unchanged`.
# Where the base commit has `kit validate`, the drill also scores the operation at each commit
# (`kit score --op ... --size ...`) and checks that `kit validate` against the base's record
# exits 1 for `slow` and 0 for `unchanged`; where it has not, that step says so and is skipped.
#
# asv builds its virtualenv once (the lock file, pinned) in this checkout's .asv/env-drill and
# reuses it; the first drill on a machine takes a few minutes longer than later ones. It is not
# asv's usual .asv/env, because asv installs the commit it measures into its environment: a
# drill sharing that folder with another asv run would swap the code under it.
#
# Usage: bash dev/regression_drill.sh
#   DRILL_OP, DRILL_BACKEND, DRILL_SIZE, DRILL_KIND  the benchmark (digest, blake3, large, random);
#                                                   the operation's callable must take a bytes-like input.
#                                                   blake3 on 8 MiB is compute-bound (~1 ms a call), so
#                                                   25% more work reads as ~1.23x; xxh3_128 there is
#                                                   memory-bound (1.17x, and its unchanged commit drifted
#                                                   past asv's 1.1 factor once in two CI runs), and at
#                                                   64 KiB the wrapper's own cost dominates (1.78x)
#   DRILL_ROUNDS, DRILL_REPEAT                      asv's rounds and repeat for the comparison (8, (10,20,10.0))
#   DRILL_VALIDATE=0                                skip the `kit validate` step
#   DRILL_MACHINE                                   asv machine name (default: asv's own choice)
#   DRILL_KEEP=1                                    keep the temporary clone, logs and records
#   DRILL_ENV_DIR                                   asv's environments (default: .asv/env-drill)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-python3}
op=${DRILL_OP:-digest} backend=${DRILL_BACKEND:-blake3}
size=${DRILL_SIZE:-large} kind=${DRILL_KIND:-random}
env_dir=${DRILL_ENV_DIR:-$root/.asv/env-drill}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kit-drill.XXXXXX")
if [ "${DRILL_KEEP:-0}" = 1 ]; then trap 'echo "drill: kept $tmp"' EXIT; else trap 'rm -rf "$tmp"' EXIT; fi
start=$(date +%s)
say() { printf 'drill: %s\n' "$*"; }
asv() { "$python" -m asv "$@"; }

# --- the commits -----------------------------------------------------------------------------
git clone -q "$root" "$tmp/repo"
repo=$tmp/repo
git -C "$repo" config user.email drill@localhost
git -C "$repo" config user.name "regression drill"
base=$(git -C "$repo" rev-parse HEAD)
# The registry benchmarks of this checkout (committed or not), alone: the drill needs one of them.
mkdir -p "$repo/.drill/benchmarks" && touch "$repo/.drill/benchmarks/__init__.py"
cp "$root/benchmarks/bench_registry.py" "$repo/.drill/benchmarks/"
printf '.drill/\nasv.conf.json\n' >> "$repo/.git/info/exclude"

# The file that declares the backend, found through the registry of the base commit.
target=$(cd "$repo" && PYTHONPATH="$repo" "$python" - "$op" "$backend" <<'EOF'
import sys
from kit import _registry
b = _registry.backend(sys.argv[1], sys.argv[2])
print(sys.modules[b.load.__module__].__file__)
EOF
)
case $target in "$repo"/*) ;; *) say "the declaring module $target is not in the clone"; exit 2 ;; esac
rel=${target#"$repo"/}
say "base $(git -C "$repo" log -1 --format='%h %s' | cut -c1-70)"
say "slowing $op:$backend, declared in $rel, by 25% of its work"

git -C "$repo" checkout -q -b drill-slow "$base"
cat >> "$target" <<EOF


# --- regression drill (dev/regression_drill.sh): 25% more work in one backend's callable ---
_drill_backend = __import__("kit.registry", fromlist=["_backends"])._backends["$op"]["$backend"]
_drill_load = _drill_backend.load


def _drill_slow_load():
    fn = _drill_load()

    def slower(data, *args, **kwargs):
        view = memoryview(data).cast("B")
        fn(view[: len(view) // 4], *args, **kwargs)  # a quarter of the input, once more
        return fn(data, *args, **kwargs)

    return slower


object.__setattr__(_drill_backend, "load", _drill_slow_load)
EOF
git -C "$repo" commit -q -am "drill: $op:$backend does 25% more work"
slow=$(git -C "$repo" rev-parse HEAD)

git -C "$repo" checkout -q -b drill-unchanged "$base"
printf '\n# regression drill: a comment-only change\n' >> "$target"
git -C "$repo" commit -q -am "drill: comment only"
unchanged=$(git -C "$repo" rev-parse HEAD)
git -C "$repo" checkout -q --detach "$base"

# --- asv continuous ----------------------------------------------------------------------------
"$python" - "$root/asv.conf.json" "$repo/asv.conf.json" "$env_dir" "$tmp" <<'EOF'
import json, os, sys
src, dst, env_dir, tmp = sys.argv[1:]
with open(src) as f:
    conf = json.load(f)
conf.update(repo=".", benchmark_dir=".drill/benchmarks", results_dir=os.path.join(tmp, "results"),
            html_dir=os.path.join(tmp, "html"), env_dir=env_dir)
with open(dst, "w") as f:
    json.dump(conf, f, indent=4)
EOF
cls=$(cd "$repo" && PYTHONPATH="$repo" "$python" -c \
    "import runpy, sys; print(runpy.run_path(sys.argv[1])['class_name'](sys.argv[2]))" \
    .drill/benchmarks/bench_registry.py "$op")
regex=$("$python" -c 'import re, sys; print("^" + re.escape(sys.argv[1]) + "$")' \
    "bench_registry.$cls.time_call('$backend', '$size', '$kind')")
# 8 rounds of 10-20 samples, alternating the two commits: a 25% change stands out of a busy
# machine's noise (4 rounds missed it 1 time in 3 here; 8 rounds flagged 3 of 3 and passed 3 of 3
# unchanged), in about 40 s per comparison.
rounds=${DRILL_ROUNDS:-8} repeat=${DRILL_REPEAT:-(10,20,10.0)}
machine=()
[ -n "${DRILL_MACHINE:-}" ] && machine=(--machine "$DRILL_MACHINE")

continuous() {  # continuous <label> <commit>: prints asv's output, returns its exit status
    say "asv continuous base $1 (-b $regex)"
    set +e
    (cd "$repo" && asv continuous --config asv.conf.json "${machine[@]}" --show-stderr -b "$regex" \
        -a rounds="$rounds" -a repeat="$repeat" "$base" "$2") 2>&1 | tee "$tmp/continuous-$1.log" | grep -E "bench_registry|CHANGED|SIGNIFICANTLY|DECREASED|INCREASED|rror"
    local status=${PIPESTATUS[0]}  # asv's, read before any other command resets it
    set -e
    return "$status"
}

failures=0
if continuous slow "$slow"; then s=0; else s=$?; fi
if [ "$s" = 1 ] && grep -q "PERFORMANCE DECREASED" "$tmp/continuous-slow.log"; then
    say "OK: asv continuous flags the 25% slower commit (exit status 1)"
else
    say "FAIL: asv continuous did not flag the 25% slower commit (exit status $s)"
    tail -30 "$tmp/continuous-slow.log"; failures=$((failures + 1))
fi
if continuous unchanged "$unchanged"; then s=0; else s=$?; fi
if [ "$s" = 0 ]; then
    say "OK: asv continuous does not flag the unchanged commit (exit status 0)"
else
    say "FAIL: asv continuous flags the unchanged commit (exit status $s)"
    tail -30 "$tmp/continuous-unchanged.log"; failures=$((failures + 1))
fi

# --- kit validate (the scoring side), where the base commit has it ------------------------------
kit_at() {  # kit_at <commit> <args...>: run this commit's `kit` from a worktree of the clone
    local c=$1; shift
    [ -d "$tmp/wt-$c" ] || git -C "$repo" worktree add -q --detach "$tmp/wt-$c" "$c"
    (cd "$tmp" && PYTHONPATH="$tmp/wt-$c" KIT_CACHE_DIR="$tmp/kit-cache-$c" "$python" -m kit.cli "$@")
}
if [ "${DRILL_VALIDATE:-1}" = 0 ]; then
    say "kit validate: skipped (DRILL_VALIDATE=0)"
elif ! kit_at "$base" validate --help >/dev/null 2>&1; then
    say "kit validate: not in kit at the base commit; skipped"
else
    score() { kit_at "$1" score --op "$op" --size "$size" --no-claims --no-reference --no-progress \
        --results "$tmp/records-$2" "${@:3}" >/dev/null; ls -t "$tmp/records-$2"/*.json | head -1; }
    # The reference pools 5 runs (fresh processes), as `kit score --as-reference` does, so that
    # validation knows this operation's run-to-run noise; a kit without --runs scores one.
    runs=(); kit_at "$base" score --help | grep -q -- '--runs' && runs=(--runs 5)
    reference=$(score "$base" base "${runs[@]}")
    for label in slow unchanged; do
        commit=$slow; [ "$label" = unchanged ] && commit=$unchanged
        record=$(score "$commit" "$label")
        set +e
        kit_at "$commit" validate "$record" --against "$reference" > "$tmp/validate-$label.log" 2>&1
        s=$?
        set -e
        want=1; [ "$label" = unchanged ] && want=0
        if [ "$s" = "$want" ]; then
            say "OK: kit validate exits $s for the $label commit"
        else
            say "FAIL: kit validate exits $s for the $label commit (expected $want)"
            tail -20 "$tmp/validate-$label.log"; failures=$((failures + 1))
        fi
    done
fi

say "done in $(( $(date +%s) - start )) s: $failures failure(s)"
[ "$failures" = 0 ]
