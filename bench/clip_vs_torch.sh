#!/usr/bin/env bash
# CLIP encoding and fine-tuning throughput, clipft against PyTorch: `clipft bench` and bench/clip_torch.py on the
# same towers (random weights), inputs and measurement, under one environment, case by case.
# Prints a Markdown table; the raw JSON lines go to $BUILD_DIR/bench-results/clip_vs_torch.jsonl.
# Arguments, if any, keep only the cases of those kinds: `clip_vs_torch.sh step` measures the
# fine-tuning step alone.
#
# Settings (environment variables):
#   BUILD_DIR            build tree holding examples/clipft (default: build)
#   OPENBLAS_CORETYPE    OpenBLAS kernel set for both sides; unset: picked from /proc/cpuinfo
#   CLIPFT_NUM_THREADS   threads for clipft, OpenBLAS and torch (default: 2)
#   BENCH_ROUNDS         measurements of each case per side, alternating which side goes first;
#                        each side keeps its lowest median (default: 2)
#   PYTHON               a Python with PyTorch (default: /usr/bin/python3, Debian's python3-torch)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
CLIPFT=$BUILD_DIR/examples/clipft
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${BENCH_ROUNDS:-2}
RESULTS=$BUILD_DIR/bench-results/clip_vs_torch.jsonl

if [[ ! -x $CLIPFT ]]; then
  echo "clip_vs_torch.sh: $CLIPFT is missing; build the clipft_cli target (or set BUILD_DIR)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "clip_vs_torch.sh: $PYTHON cannot import torch; point PYTHON at a Python that has PyTorch" >&2
  exit 1
fi

# One environment for both sides: the same OpenBLAS kernels (torch links the same libopenblas),
# the same thread count, and OpenMP workers that sleep rather than spin between parallel regions.
source scripts/openblas-env.sh
export CLIPFT_NUM_THREADS=${CLIPFT_NUM_THREADS:-2}
export OMP_NUM_THREADS=$CLIPFT_NUM_THREADS OMP_WAIT_POLICY=PASSIVE

# what preset batch iterations warmup: fewer iterations where one forward takes seconds.
CASES=(
  "image B32 1 20 3"
  "image B32 8 5 1"
  "image L14 1 5 1"
  "image L14 8 3 1"
  "text B32 8 5 1"
  "text L14 8 5 1"
  "step B32 16 3 1"
)

mkdir -p "$(dirname "$RESULTS")"
: >"$RESULTS"
for case in "${CASES[@]}"; do
  read -r what preset batch iterations warmup <<<"$case"
  if [[ $# -gt 0 && " $* " != *" $what "* ]]; then continue; fi
  arguments=(--preset "$preset" --what "$what" --batch "$batch" --threads "$CLIPFT_NUM_THREADS"
             --iters "$iterations" --warmup "$warmup")
  for ((round = 0; round < ROUNDS; ++round)); do
    sides=(clipft torch)
    ((round % 2)) && sides=(torch clipft)
    for side in "${sides[@]}"; do
      if [[ $side == clipft ]]; then line=$("$CLIPFT" bench "${arguments[@]}")
      else line=$("$PYTHON" bench/clip_torch.py "${arguments[@]}"); fi
      echo "$side $line" | tee -a "$RESULTS" >&2
    done
  done
done

"$PYTHON" - "$RESULTS" "$CLIPFT_NUM_THREADS" "${OPENBLAS_CORETYPE:-default}" <<'EOF'
import json, sys

best = {}  # (what, preset, batch) -> side -> the run with the lowest median
for row in open(sys.argv[1]):
    side, line = row.split(" ", 1)
    run = json.loads(line)
    sides = best.setdefault((run["what"], run["preset"], run["batch"]), {})
    if side not in sides or run["median_s"] < sides[side]["median_s"]:
        sides[side] = run

print(f"CLIP encoding (no gradients) and fine-tuning steps (step: forward, backward, AdamW), {sys.argv[2]} threads, "
      f"OPENBLAS_CORETYPE={sys.argv[3]}, float32; best median of each side\n")
print("| what | preset | batch | clipft items/s | torch items/s | clipft/torch | clipft peak RSS MB | torch peak RSS MB |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for (what, preset, batch), sides in best.items():
    c, t = sides["clipft"], sides["torch"]
    print(f"| {what} | {preset} | {batch} | {c['items_per_s']:.2f} | {t['items_per_s']:.2f} | "
          f"{c['items_per_s'] / t['items_per_s']:.2f} | {c['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} |")
EOF
