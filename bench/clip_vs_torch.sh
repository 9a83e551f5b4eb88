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
#   BENCH_ROUNDS         measurements of each case per side, rotating which side goes first;
#                        each side keeps its lowest median (default: 2)
#   BENCH_PRECISIONS     the precisions of both sides' products (default: "float32 bfloat16"; bfloat16
#                        is torch.autocast("cpu", dtype=torch.bfloat16) for PyTorch)
#   PYTHON               a Python with PyTorch (default: /usr/bin/python3, Debian's python3-torch)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
CLIPFT=$BUILD_DIR/examples/clipft
PYTHON=${PYTHON:-/usr/bin/python3}
ROUNDS=${BENCH_ROUNDS:-2}
read -r -a PRECISIONS <<<"${BENCH_PRECISIONS:-float32 bfloat16}"
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
  "step L14 2 2 1"
)

mkdir -p "$(dirname "$RESULTS")"
: >"$RESULTS"
for case in "${CASES[@]}"; do
  read -r what preset batch iterations warmup <<<"$case"
  if [[ $# -gt 0 && " $* " != *" $what "* ]]; then continue; fi
  arguments=(--preset "$preset" --what "$what" --batch "$batch" --threads "$CLIPFT_NUM_THREADS"
             --iters "$iterations" --warmup "$warmup")
  sides=()
  for precision in "${PRECISIONS[@]}"; do sides+=("clipft:$precision" "torch:$precision"); done
  for ((round = 0; round < ROUNDS; ++round)); do
    for ((i = 0; i < ${#sides[@]}; ++i)); do
      side=${sides[(i + round) % ${#sides[@]}]}
      program=${side%%:*} precision=${side##*:}
      if [[ $program == clipft ]]; then line=$("$CLIPFT" bench "${arguments[@]}" --precision "$precision")
      else line=$("$PYTHON" bench/clip_torch.py "${arguments[@]}" --precision "$precision"); fi
      echo "$program $line" | tee -a "$RESULTS" >&2
    done
  done
done

"$PYTHON" - "$RESULTS" "$CLIPFT_NUM_THREADS" "${OPENBLAS_CORETYPE:-default}" <<'EOF'
import json, sys

best = {}  # (what, preset, batch) -> (side, precision) -> the run with the lowest median
for row in open(sys.argv[1]):
    side, line = row.split(" ", 1)
    run = json.loads(line)
    sides = best.setdefault((run["what"], run["preset"], run["batch"]), {})
    key = (side, run.get("precision", "float32"))
    if key not in sides or run["median_s"] < sides[key]["median_s"]:
        sides[key] = run

print(f"CLIP encoding (no gradients) and fine-tuning steps (step: forward, backward, AdamW), {sys.argv[2]} threads, "
      f"OPENBLAS_CORETYPE={sys.argv[3]}; items/s, best median of each side; bf16: clipft's bfloat16 products, "
      f"PyTorch under torch.autocast('cpu', dtype=torch.bfloat16); ratios against PyTorch float32\n")
print("| what | preset | batch | clipft fp32 | clipft bf16 | torch fp32 | torch bf16 | clipft fp32 / torch fp32 | "
      "clipft bf16 / torch fp32 | clipft bf16 / torch bf16 | clipft fp32 peak RSS MB | torch fp32 peak RSS MB |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
def rate(sides, key):
    return sides[key]["items_per_s"] if key in sides else float("nan")
def rss(sides, key):
    return f"{sides[key]['peak_rss_mb']:.0f}" if key in sides else "-"
for (what, preset, batch), sides in best.items():
    c32, c16 = rate(sides, ("clipft", "float32")), rate(sides, ("clipft", "bfloat16"))
    t32, t16 = rate(sides, ("torch", "float32")), rate(sides, ("torch", "bfloat16"))
    print(f"| {what} | {preset} | {batch} | {c32:.2f} | {c16:.2f} | {t32:.2f} | {t16:.2f} | {c32 / t32:.2f} | "
          f"{c16 / t32:.2f} | {c16 / t16:.2f} | {rss(sides, ('clipft', 'float32'))} | {rss(sides, ('torch', 'float32'))} |")
EOF
