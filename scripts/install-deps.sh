#!/usr/bin/env bash
# Installs the Debian 12 packages clipft needs to build and test.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also PyTorch (for the PyTorch comparisons)
# Does nothing (and needs no network) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake git pkg-config
  xtensor-dev libxtensor-blas-dev libxsimd-dev xtl-dev
  libopenblas-dev doctest-dev libbenchmark-dev libstb-dev zlib1g-dev
  nlohmann-json3-dev
  libicu-dev
  libdlib-dev libdlib-data
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-sklearn
)

for arg in "$@"; do
  case "$arg" in
    --bench) packages+=(python3-torch python3-torchvision) ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
