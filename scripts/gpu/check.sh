#!/usr/bin/env bash
# The GPU checks of the CUDA backend, on a machine with an NVIDIA GPU and .gpu-kit/ carried there
# (scripts/gpu/pack.sh). Two stages, each well inside the device tool's 10 minutes a command:
#   scripts/gpu/check.sh test    unpack the dependencies, build for the local GPU, run tests/cuda, the
#                                mixed-backends test, and clipft finetune --device cuda (bf16, fp16)
#   scripts/gpu/check.sh bench   bench/cuda_step.cu against PyTorch eager, ViT-L/14, bf16 (bench/README.md)
# Logs, JSON lines and a summary (one "name rc=N" line a step) go to $OUT (default gpu-check/).
set -uo pipefail
cd "$(dirname "$0")/../.."
stage="${1:?usage: scripts/gpu/check.sh test|bench}"
out="${OUT:-gpu-check}"
mkdir -p "$out"
sysroot=/tmp/clipft-sysroot
libraries="$sysroot/usr/lib/x86_64-linux-gnu"
if [[ ! -d "$sysroot" ]]; then
  for deb in .gpu-kit/debs/*.deb; do dpkg -x "$deb" "$sysroot"; done
fi
export LD_LIBRARY_PATH="$libraries/openblas-pthread:$libraries${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONUNBUFFERED=1

step() { # step NAME COMMAND...: runs it, logs it, records its exit status, shows its end
  local name=$1
  shift
  echo "== $name: $*"
  "$@" > "$out/$name.log" 2>&1
  local status=$?
  echo "$name rc=$status" | tee -a "$out/summary.txt"
  tail -n 15 "$out/$name.log"
}

case "$stage" in
test)
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.csv"
  step configure cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCLIPFT_ENABLE_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${CLIPFT_CUDA_ARCHITECTURES:-native}" -DCLIPFT_ENABLE_MPI=OFF \
    -DCLIPFT_ENABLE_DLIB=OFF -DCLIPFT_ENABLE_FFMPEG=OFF -DCLIPFT_SHARED_DIR="$PWD/.gpu-kit/shared" \
    -DCMAKE_PREFIX_PATH="$sysroot/usr" -DICU_ROOT="$sysroot/usr" -DCMAKE_DISABLE_FIND_PACKAGE_OpenBLAS=ON \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
    -Dclipft_OPENBLAS_INCLUDE_DIR="$sysroot/usr/include/x86_64-linux-gnu/openblas-pthread" \
    -Dclipft_OPENBLAS_LIBRARY="$libraries/openblas-pthread/libopenblas.so"
  step build cmake --build build-gpu -j"$(nproc)" --target clipft_cuda_tests clipft_mixed_backends_tests clipft_cli clipft_cuda_step
  step cuda_tests env CI=true build-gpu/tests/clipft_cuda_tests
  step mixed_backends build-gpu/tests/clipft_mixed_backends_tests
  data=/tmp/clipft-gpu-data
  step synth build-gpu/examples/clipft synth --out "$data" --images 24 --size 32 --seed 1
  for precision in bfloat16 float16; do
    step "finetune_$precision" build-gpu/examples/clipft finetune --model .gpu-kit/shared/fixtures/tiny-a --data "$data" \
      --descriptions 1desc --out "/tmp/clipft-gpu-run-$precision" --batch 8 --batches-per-epoch 3 --epochs 2 --lr 1e-3 \
      --schedule constant --validation-fraction 0.34 --patience 0 --device cuda --precision "$precision" --quiet
  done
  ;;
bench)
  for what in step image; do
    step "clipft_$what" build-gpu/clipft_cuda_step --preset L14 --what "$what" --precision bf16
    step "torch_$what" python3 bench/cuda_step_torch.py --preset L14 --what "$what" --precision bf16
  done
  grep -h '^{' "$out"/clipft_*.log "$out"/torch_*.log > "$out/bench.jsonl"
  cat "$out/bench.jsonl"
  ;;
*)
  echo "scripts/gpu/check.sh: unknown stage '$stage' (test or bench)" >&2
  exit 2
  ;;
esac
