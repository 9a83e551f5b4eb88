"""What the command tests in tests/cli share. Standard library only.

A script finds this module beside itself:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import check, finish, require_shared, runner

- failures, check(condition, what): a failed check is printed and kept in failures; finish(name) prints
  the count and exits, 1 when a check failed.
- require_shared(*paths): the shared reference data; without it exit 77 (ctest's SKIP_RETURN_CODE of
  these tests: skipped), or 1 under CI=true or once a check has failed.
- run(program, *arguments, **options): subprocess.run with stdout and stderr captured as text, options
  passed on (env=, preexec_fn=, timeout=); runner(program) binds the program: run = runner(clipft).
- last_json(result): the JSON object a command prints as its last line.
- synth(clipft, folder, images, seed): a tiny dataset made by clipft synth, checked to exit 0.
- read_safetensors(path): {name: Tensor(dtype, shape, values)} with .metadata; F32, I64 and U8 values
  unpacked into tuples, any other dtype's as raw bytes.
- png_bytes(width, height, raw) makes a PNG file's bytes; png_size(path) reads its width and height.
- auc(labels, scores), rows(values, width), largest_difference(a, b): small numerics of the checks.
"""
import collections
import functools
import json
import os
import struct
import subprocess
import sys
import zlib

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAILED:", what)


def finish(name):
    """Print how the checks of test `name` went and exit: 1 when any failed, 0 otherwise."""
    print("%s: %d check(s) failed" % (name, len(failures)) if failures else "%s: all checks passed" % name)
    sys.exit(1 if failures else 0)


def require_shared(*paths):
    """Return when every path of the shared data exists; otherwise exit, 77 (skipped) outside CI."""
    missing = [path for path in paths if not os.path.exists(path)]
    if missing:
        print("the shared data is missing: %s (set CLIPFT_SHARED_DIR when configuring)" % ", ".join(missing))
        sys.exit(1 if failures or os.environ.get("CI") == "true" else 77)


def run(program, *arguments, **options):
    return subprocess.run([program, *arguments], capture_output=True, text=True, **options)


def runner(program):
    """run with the program bound: runner(clipft)("info") is run(clipft, "info")."""
    return functools.partial(run, program)


def last_json(result):
    """The JSON object on the last line of a command's stdout; {} when it failed or printed none."""
    try:
        return json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else {}
    except (ValueError, IndexError):
        return {}


def synth(clipft, folder, images=12, seed=1):
    """clipft synth into folder: `images` real faces and as many fakes of 32 x 32 pixels; the run."""
    made = run(clipft, "synth", "--out", folder, "--images", str(images), "--size", "32", "--seed", str(seed))
    check(made.returncode == 0, "synth exits 0: " + made.stderr)
    return made


Tensor = collections.namedtuple("Tensor", ["dtype", "shape", "values"])
unpacked_dtypes = {"F32": "f", "I64": "q", "U8": "B"}


class Safetensors(dict):
    """{name: Tensor} of a safetensors file; .metadata holds its __metadata__ ({} when it has none)."""

    def __init__(self, tensors, metadata):
        super().__init__(tensors)
        self.metadata = metadata


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        raw, code = body[begin:end], unpacked_dtypes.get(entry["dtype"])
        values = struct.unpack("<%d%s" % (len(raw) // struct.calcsize("<" + code), code), raw) if code else raw
        tensors[name] = Tensor(entry["dtype"], entry["shape"], values)
    return Safetensors(tensors, metadata)


def png_bytes(width, height, raw):
    """An 8-bit RGB PNG whose header says width x height and whose image data is `raw` (each row a
    filter byte, then its pixels), compressed. The two need not agree: hostile files lie."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def png_size(path):
    """(width, height) of a PNG file from its IHDR chunk; None when the file is no PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24]) if len(head) == 24 and head[:8] == b"\x89PNG\r\n\x1a\n" else None


def auc(labels, scores):
    """ROC AUC as the Mann-Whitney statistic: P(positive's score > negative's) + P(equal) / 2."""
    positives = [s for l, s in zip(labels, scores) if l == 1]
    negatives = [s for l, s in zip(labels, scores) if l == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def rows(values, width):
    """The flat values of a row-major matrix as its rows of `width`."""
    return [values[i : i + width] for i in range(0, len(values), width)]


def largest_difference(a, b):
    return max(abs(x - y) for x, y in zip(a, b))
