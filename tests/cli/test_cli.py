"""The clipft command against its contract (SPEC's command table): outputs, files, exit codes.

Usage: test_cli.py CLIPFT_EXECUTABLE SHARED_DIR. Standard library only.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

clipft, shared = sys.argv[1], sys.argv[2]
fixtures = os.path.join(shared, "fixtures")
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAILED:", what)


def run(*arguments):
    return subprocess.run([clipft, *arguments], capture_output=True, text=True)


def read_safetensors(path):
    """{name: (dtype, shape, list of values)} for F32 and I64 tensors."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        code = {"F32": "f", "I64": "q", "U8": "B"}[entry["dtype"]]
        count = (end - begin) // struct.calcsize(code)
        tensors[name] = (entry["dtype"], entry["shape"], struct.unpack("<%d%s" % (count, code), body[begin:end]))
    return tensors


if not os.path.isdir(fixtures):
    print("shared fixtures not found at", fixtures)
    sys.exit(1 if os.environ.get("CI") == "true" else 0)

# tokenize: every fixture case, full and at context 77 with truncation
cases = json.load(open(os.path.join(fixtures, "tokenizer_cases.json"), encoding="utf-8"))
vocab = os.path.join(fixtures, "clip", "bpe_simple_vocab_16e6.txt.gz")
texts = [case["text"] for case in cases]
full = run("tokenize", "--vocab", vocab, "--", *texts)
check(full.returncode == 0, "tokenize exits 0")
check([json.loads(line) for line in full.stdout.splitlines()] == [case["ids"] for case in cases], "tokenize ids match every fixture case")
rows = run("tokenize", "--vocab", os.path.join(fixtures, "clip"), "--context", "77", "--truncate", "--", *texts)
check([json.loads(line) for line in rows.stdout.splitlines()] == [case["tokenize77"] for case in cases], "tokenize --context 77 --truncate matches")
too_long = next(case["text"] for case in cases if case["truncated"])
refused = run("tokenize", "--vocab", vocab, "--context", "77", "--", too_long)
check(refused.returncode == 1 and "context length" in refused.stderr, "a text longer than --context is an error without --truncate")

# encode: the tiny-a forward pass, and the text path through the tokenizer
with tempfile.TemporaryDirectory() as scratch:
    out = os.path.join(scratch, "out.safetensors")
    model = os.path.join(fixtures, "tiny-a")
    encoded = run("encode", "--model", model, "--inputs", os.path.join(model, "inputs.safetensors"), "--out", out)
    check(encoded.returncode == 0, "encode exits 0: " + encoded.stderr)
    result, expected = read_safetensors(out), read_safetensors(os.path.join(model, "expected.safetensors"))
    for name, tolerance in [("image_embeds", 1e-4), ("text_embeds", 1e-4), ("logits_per_image", 1e-3), ("logits_per_text", 1e-3)]:
        check(name in result and result[name][1] == expected[name][1], "encode writes %s with the reference shape" % name)
        if name in result:
            worst = max(abs(a - b) - tolerance * abs(b) for a, b in zip(result[name][2], expected[name][2]))
            check(worst <= tolerance, "%s within tolerance (excess %g)" % (name, worst))
    by_text = run("encode", "--model", model, "--text", "The image of a person.", "The image of a deepfake.", "--out", out)
    check(by_text.returncode == 0, "encode --text exits 0: " + by_text.stderr)
    if by_text.returncode == 0:
        embeds = read_safetensors(out)["text_embeds"]
        reference = expected["text_embeds"]
        worst = max(abs(a - b) for a, b in zip(embeds[2], reference[2][: len(embeds[2])]))
        check(embeds[1] == [2, 32] and worst <= 1e-4, "encode --text gives the reference text embeddings of rows 0-1")

    # preprocess: the fixture images, within the bounds (mean abs <= 0.01, max <= 0.1)
    images_dir = os.path.join(fixtures, "preprocess")
    images = sorted(name for name in os.listdir(images_dir) if name.endswith((".png", ".jpg")))
    prepared = os.path.join(scratch, "pixels.safetensors")
    done = run("preprocess", "--size", "224", "--out", prepared, *[os.path.join(images_dir, name) for name in images])
    check(done.returncode == 0, "preprocess exits 0: " + done.stderr)
    if done.returncode == 0:
        ours, reference = read_safetensors(prepared), read_safetensors(os.path.join(images_dir, "expected.safetensors"))
        for name in images:
            differences = [abs(a - b) for a, b in zip(ours[name][2], reference[name][2])]
            check(ours[name][1] == [3, 224, 224] and sum(differences) / len(differences) <= 0.01 and max(differences) <= 0.1,
                  "preprocess matches the reference for " + name)

    # exit codes and messages
    check(run().returncode == 2, "no sub-command: exit 2")
    check(run("nonsense").returncode == 2, "unknown sub-command: exit 2")
    unknown = run("encode", "--model", model, "--frobnicate", "1", "--out", out)
    check(unknown.returncode == 2 and "--frobnicate" in unknown.stderr, "unknown option: exit 2 naming it")
    missing = run("encode", "--model", os.path.join(scratch, "nowhere"), "--text", "a", "--out", out)
    check(missing.returncode == 1 and "nowhere" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1,
          "missing model: exit 1 with one line naming the path")
    for command in ["demo", "tokenize", "encode", "preprocess", "info"]:
        check(run(command, "--help").returncode == 0, command + " --help exits 0")

print("cli: %d failed" % len(failures) if failures else "cli: all checks passed")
sys.exit(1 if failures else 0)
