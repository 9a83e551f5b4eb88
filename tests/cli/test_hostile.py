"""Hostile and broken input files: the clipft command exits with code 1 and a message naming the file.

Every file is made here: safetensors headers that lie (huge length, offsets out of range or
overlapping, shapes whose product overflows, sizes that do not match the dtype), NaN weights, a
truncated gzip vocabulary, an image whose header claims 225 megapixels, a zero-byte image, manifests
with a missing column or bad labels, and limits set through CLIPFT_LIMITS.

Usage: test_hostile.py CLIPFT_EXECUTABLE SHARED_DIR. Standard library only.
"""
import gzip
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import check, finish, png_bytes, require_shared  # noqa: E402

clipft, shared = sys.argv[1], sys.argv[2]
tiny = os.path.join(shared, "fixtures", "tiny-a")


def run(*arguments, limits=None):
    """clipft with CLIPFT_LIMITS set to `limits`, or unset."""
    environment = dict(os.environ)
    environment.pop("CLIPFT_LIMITS", None)
    if limits is not None:
        environment["CLIPFT_LIMITS"] = limits
    return common.run(clipft, *arguments, env=environment)


def refused(what, result, *needles):
    """The command failed with exit code 1 and one line on stderr holding every needle."""
    message = result.stderr.strip()
    ok = result.returncode == 1 and len(message.splitlines()) == 1 and all(needle in message for needle in needles)
    check(ok, "%s: exit %d, stderr %r (expected exit 1 with %r)" % (what, result.returncode, message, needles))


def safetensors(header, data=b"", length=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def png(width, height):
    """A 1x1 RGB PNG whose header claims width x height (stb_image does not check the header's CRC)."""
    return png_bytes(width, height, b"\x00\x10\x20\x30")


def write(folder, name, data):
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


require_shared(tiny)

with tempfile.TemporaryDirectory() as folder:
    out = os.path.join(folder, "out.safetensors")

    # Checkpoints whose header lies: refused while reading the header, naming the file.
    f32 = lambda shape, begin, end: {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}
    checkpoints = {
        "huge_length": (safetensors(b"{}", length=2**63), "the header length 9223372036854775808 exceeds the limit max_safetensors_header_bytes"),
        "out_of_range": (safetensors({"w": f32([4], 0, 16)}, b"\0" * 8), "reach past the 8 bytes of data"),
        "overlapping": (safetensors({"a": f32([2], 0, 8), "b": f32([2], 4, 12)}, b"\0" * 12), "overlap those of tensor 'a'"),
        "overflowing_shape": (safetensors({"w": f32([2**32, 2**32], 0, 4)}, b"\0" * 4), "has more elements than 64-bit sizes can count"),
        "dtype_size_mismatch": (safetensors({"w": f32([3], 0, 8)}, b"\0" * 8), "shape [3] of F32 needs 12"),
        "huge_tensor": (safetensors({"w": {"dtype": "F64", "shape": [2**40], "data_offsets": [0, 8]}}, b"\0" * 8), "hold 8 bytes"),
    }
    for name, (data, needle) in checkpoints.items():
        path = write(folder, name + ".safetensors", data)
        refused("encode --model " + name, run("encode", "--model", path, "--text", "a photo", "--out", out), path + ":", needle)

    # NaN weights: refused by default, loaded with a warning when CLIPFT_LIMITS says so.
    with open(os.path.join(tiny, "openai.safetensors"), "rb") as f:
        data = bytearray(f.read())
    (length,) = struct.unpack("<Q", data[:8])
    begin = 8 + length + json.loads(data[8 : 8 + length])["text_projection"]["data_offsets"][0]
    data[begin : begin + 4] = struct.pack("<f", float("nan"))
    nan_model = write(folder, "nan.safetensors", bytes(data))
    encode_nan = ["encode", "--model", nan_model, "--vocab", tiny, "--text", "a photo", "--out", out]
    refused("NaN weights", run(*encode_nan), nan_model + ": tensor 'text_projection': 1 NaN or infinite value(s)", "non_finite_weights=warn")
    warned = run(*encode_nan, limits="non_finite_weights=warn")
    check(warned.returncode == 0 and "warning" in warned.stderr and "text_projection" in warned.stderr,
          "NaN weights with non_finite_weights=warn load with a warning: %d %r" % (warned.returncode, warned.stderr))

    # A vocabulary cut off inside its gzip stream.
    merges = gzip.compress(("#version: 0.2\n" + "i n\nt h\n" * 5000).encode())
    truncated = write(folder, "truncated.txt.gz", merges[: len(merges) // 2])
    refused("truncated gzip vocabulary", run("tokenize", "--vocab", truncated, "hello"), truncated + ": truncated gzip data")

    # Images: a decompression bomb (refused from its header, before decoding) and an empty file.
    bomb = write(folder, "bomb.png", png(15000, 15000))  # 225 megapixels; stb_image itself refuses beyond 1 GB decoded
    refused("decompression bomb", run("preprocess", "--out", out, bomb), bomb + ":", "15000x15000", "max_image_pixels")
    empty = write(folder, "empty.jpg", b"")
    refused("zero-byte image", run("preprocess", "--out", out, empty), empty + ": the file is empty (0 bytes)")
    small = write(folder, "small.png", png(1, 1))
    refused("an image beyond CLIPFT_LIMITS", run("preprocess", "--out", out, small, limits="max_image_file_bytes=10"),
            small + ": the file size", "max_image_file_bytes = 10")
    refused("an unknown limit", run("preprocess", "--out", out, small, limits="max_pixels=10"),
            "CLIPFT_LIMITS: no limit named 'max_pixels'")

    # Manifests: a missing column, labels that are no class, an index of 20 digits.
    manifests = {
        "missing_column.csv": ("path,score\na.jpg,0.5\n", "no column 'label' in the header"),
        "bad_label.csv": ("path,label\na.jpg,real\nb.jpg,dog\n", ":3: label 'dog' is not a class"),
        "huge_index.csv": ("path,label\na.jpg,0\nb.jpg,99999999999999999999\n", ":3: label 99999999999999999999 is not a class index"),
        "ragged.csv": ("path,label\na.jpg\n", ":2: 1 fields, but line 1 has 2"),
    }
    for name, (text, needle) in manifests.items():
        path = write(folder, name, text)
        result = run("eval", "--model", tiny, "--data", path, "--descriptions", "1desc", "--out", os.path.join(folder, "eval"), "--quiet")
        refused("eval --data " + name, result, path, needle)
    scores = write(folder, "scores.csv", "label,value\n1,0.5\n")
    refused("metrics without a score column", run("metrics", "--scores", scores), scores + ": no column 'score'")

finish("hostile files")
