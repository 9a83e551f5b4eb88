#!/usr/bin/env bash
# Runs clipft's benchmarks (built by `./run bench`) against raw cblas_sgemm and PyTorch, under one
# environment for both sides, and prints the comparison tables. See bench/README.md.
#
# Settings (environment variables):
#   BUILD_DIR            build tree holding bench/bench_* (default: build)
#   OPENBLAS_CORETYPE    OpenBLAS kernel set; unset: picked from /proc/cpuinfo
#   CLIPFT_NUM_THREADS   threads for clipft, OpenBLAS and torch (default: nproc)
#   BENCH_ROUNDS         measurements of each op case per side, alternating; each keeps its best (2)
#   BENCH_WARMUP, BENCH_MIN_TIME, BENCH_REPETITIONS   per case: seconds of warm-up (0.3), minimum
#                        seconds per repetition (0.2), repetitions whose median is taken (7; twice
#                        that for the matmul products, which are interleaved)
#   BENCH_FILTER         regular expression on op case names, e.g. 'layer_norm|softmax'
#   PYTHON               a Python with PyTorch (default: /usr/bin/python3, Debian's python3-torch)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
RESULTS_DIR=$BUILD_DIR/bench-results
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${BENCH_ROUNDS:-2}
WARMUP=${BENCH_WARMUP:-0.3}
MIN_TIME=${BENCH_MIN_TIME:-0.2}
REPETITIONS=${BENCH_REPETITIONS:-7}
FILTER=${BENCH_FILTER:-}

for program in bench_matmul bench_ops; do
  if [[ ! -x $BUILD_DIR/bench/$program ]]; then
    echo "run_all.sh: $BUILD_DIR/bench/$program is missing; build it with ./run bench" \
         "(or configure with -DCLIPFT_BUILD_BENCHMARKS=ON and set BUILD_DIR)" >&2
    exit 1
  fi
done
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "run_all.sh: $PYTHON cannot import torch; install it with scripts/install-deps.sh --bench" \
       "or point PYTHON at a Python that has PyTorch" >&2
  exit 1
fi

# OpenBLAS's DYNAMIC_ARCH detection can take a virtualised CPU for an old one; clipft and torch
# load the same libopenblas, so both get the kernel set chosen here.
source "$(dirname "$0")/../scripts/openblas-env.sh"
echo "run_all.sh: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-<unset: OpenBLAS detects the CPU itself>}"

# One thread count everywhere: clipft sizes its pool and OpenBLAS from CLIPFT_NUM_THREADS; torch
# takes it through torch.set_num_threads (ops_torch.py) and OMP_NUM_THREADS, and its OpenBLAS calls
# through OPENBLAS_NUM_THREADS. Passive OpenMP waiting keeps torch's idle workers off the cores, as
# clipft's pool sleeps between jobs.
export CLIPFT_NUM_THREADS=${CLIPFT_NUM_THREADS:-$(nproc)}
export OPENBLAS_NUM_THREADS=$CLIPFT_NUM_THREADS OMP_NUM_THREADS=$CLIPFT_NUM_THREADS OMP_WAIT_POLICY=PASSIVE
echo "run_all.sh: $CLIPFT_NUM_THREADS threads, OMP_WAIT_POLICY=$OMP_WAIT_POLICY; results in $RESULTS_DIR"

# Other benchmarks write beside these files: remove only this script's own.
mkdir -p "$RESULTS_DIR"
rm -f "$RESULTS_DIR"/{matmul,ops,latest}.json "$RESULTS_DIR/latest.md"

# Random interleaving spreads each product's repetitions over the whole run, so that load from
# elsewhere hits clipft and raw cblas_sgemm alike.
echo "== matmul: clipft vs raw cblas_sgemm"
"$BUILD_DIR/bench/bench_matmul" --benchmark_min_warmup_time="$WARMUP" --benchmark_min_time="$MIN_TIME" \
  --benchmark_repetitions="$((2 * REPETITIONS))" --benchmark_enable_random_interleaving=true \
  --benchmark_report_aggregates_only=true --benchmark_display_aggregates_only=true \
  --benchmark_out="$RESULTS_DIR/matmul.json" --benchmark_out_format=json | grep -E '_median|^[A-Za-z_]+:'

# Case by case, clipft (bench_ops) and torch back to back, alternating which goes first.
echo "== ops: clipft vs torch"
"$PYTHON" bench/ops_torch.py --clipft "$BUILD_DIR/bench/bench_ops" --out "$RESULTS_DIR/ops.json" \
  --rounds "$ROUNDS" --filter "$FILTER" --warmup "$WARMUP" --min-time "$MIN_TIME" --repetitions "$REPETITIONS"

echo "== summary ($RESULTS_DIR/latest.json, $RESULTS_DIR/latest.md)"
"$PYTHON" bench/summarize.py "$RESULTS_DIR"
