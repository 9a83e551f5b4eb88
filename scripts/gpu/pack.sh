#!/usr/bin/env bash
# Gathers, on this Debian 12 machine, what the GPU machine lacks for clipft's CUDA checks: the .deb
# packages of the build dependencies (its image has nvcc, CMake, ninja and PyTorch, but no xtensor,
# OpenBLAS, ICU, stb, doctest...) and the tiny-a reference files the CUDA tests compare against.
# They go to .gpu-kit/ (git-ignored, about 52 MB, under the device tool's 64 MiB): carry it there
# and run scripts/gpu/check.sh.
#   usage: scripts/gpu/pack.sh            (CLIPFT_SHARED_DIR: the shared data, default ../shared)
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${CLIPFT_SHARED_DIR:-../shared}"
kit=.gpu-kit
rm -rf "$kit"
mkdir -p "$kit/debs" "$kit/shared/fixtures/tiny-a"
packages=(doctest-dev libgfortran5 libicu-dev libicu72 libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread
          libstb-dev libstb0 libxsimd-dev libxtensor-dev nlohmann-json3-dev xtl-dev zlib1g zlib1g-dev)
(cd "$kit/debs" && apt-get download "${packages[@]}")
# The tiny-a files tests/cuda reads: the OpenAI-layout weights, the references, the tokenizer.
for file in openai.safetensors inputs.safetensors expected.safetensors train_step.safetensors vocab.json merges.txt \
            config.json openai_config.json tokenizer_config.json special_tokens_map.json; do
  cp "$shared/fixtures/tiny-a/$file" "$kit/shared/fixtures/tiny-a/"
done
du -sh "$kit"
