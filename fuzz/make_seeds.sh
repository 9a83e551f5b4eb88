#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets: make_seeds.sh BUILD_DIR [SHARED_DIR]
# writes BUILD_DIR/fuzz-corpus/<target>/ from fuzz_make_seeds (valid inputs made with clipft) and
# from the small reference files of SHARED_DIR/fixtures (default: ../shared beside the sources).
# The corpora live in the build folder, never in git.
set -euo pipefail
build=$(realpath "$1")
source_dir=$(dirname "$(realpath "$0")")/..
shared=$(realpath "${2:-$source_dir/../shared}")
corpus=$build/fuzz-corpus
fixtures=$shared/fixtures

"$build/fuzz/fuzz_make_seeds" "$corpus"

# seed TARGET NAME MODE FILE...: the files concatenated (NUL-separated) after an optional mode byte.
seed() {
    local target=$1 name=$2 mode=$3
    shift 3
    mkdir -p "$corpus/$target"
    {
        if [ -n "$mode" ]; then printf "\\x$mode"; fi
        local first=1
        for file in "$@"; do
            if [ $first = 0 ]; then printf '\0'; fi
            cat "$file"
            first=0
        done
    } > "$corpus/$target/$name"
}

if [ -d "$fixtures" ]; then
    seed safetensors inputs "" "$fixtures/tiny-a/inputs.safetensors"
    seed safetensors expected "" "$fixtures/tiny-a/expected.safetensors"
    seed clip_config huggingface "" "$fixtures/tiny-a/config.json"
    seed clip_config openai "" "$fixtures/tiny-a/openai_config.json"
    seed tokenizer clip_gz 00 "$fixtures/clip/bpe_simple_vocab_16e6.txt.gz"
    seed tokenizer clip_vocab_files 01 "$fixtures/clip/vocab.json" "$fixtures/clip/merges.txt"
    for image in "$fixtures"/preprocess/*.jpg "$fixtures"/preprocess/*.png; do
        seed image "$(basename "$image")" "" "$image"
    done
else
    echo "make_seeds.sh: no $fixtures; the corpora hold the generated seeds only" >&2
fi
find "$corpus" -type f | wc -l | xargs echo "make_seeds.sh: seeds in $corpus:"
