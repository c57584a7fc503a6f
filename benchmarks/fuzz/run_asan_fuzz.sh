#!/usr/bin/env bash
# Build novaload/results/_k6fast.c with AddressSanitizer + UBSan into a scratch
# directory (never into the repo) and run the seeded mutation fuzzer against it.
#   benchmarks/fuzz/run_asan_fuzz.sh [fuzzer args, e.g. --iterations 100000 --seed 7]
# Any sanitizer report aborts the run (non-zero exit, report on stderr).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
OUT=${ASAN_BUILD_DIR:-/tmp/k6fast-asan}
mkdir -p "$OUT"
INC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
SO="$OUT/_k6fast$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
gcc -shared -fPIC -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
    -fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
    -I"$INC" "$REPO/novaload/results/_k6fast.c" -o "$SO"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYTHONMALLOC=malloc  # Python objects from malloc: ASan sees their bounds
cd "$REPO"
exec "$PY" tests/results/k6fast_fuzz.py --so "$SO" "$@"
