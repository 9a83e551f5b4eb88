"""--precision float32|bfloat16 of the commands computing on the CPU: encode's bfloat16 embeddings of
tiny-a against float32's (cosine >= 0.999) and loss's bfloat16 loss and gradients against PyTorch's
float32 reference; bench reports its precision; float16 and unknown precisions are usage errors.
Without a bfloat16 kernel (clipft info) the products stay float32: then the embeddings must be equal.

Usage: test_precision.py CLIPFT_EXECUTABLE SHARED_DIR. Standard library only.
"""
import json
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, read_safetensors, require_shared, rows, runner  # noqa: E402

clipft, shared = sys.argv[1], sys.argv[2]
tiny = os.path.join(shared, "fixtures", "tiny-a")
run = runner(clipft)


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


require_shared(tiny)

info = json.loads(run("info").stdout)
has_bfloat16 = not info["bfloat16_kernel"].startswith("float32")
print("bfloat16 kernel:", info["bfloat16_kernel"])

with tempfile.TemporaryDirectory() as scratch:
    encoded = {}
    for precision in ("float32", "bfloat16"):
        out = os.path.join(scratch, precision + ".safetensors")
        result = run("encode", "--model", tiny, "--inputs", os.path.join(tiny, "inputs.safetensors"), "--out", out,
                     "--precision", precision)
        check(result.returncode == 0, "encode --precision %s exits 0: %s" % (precision, result.stderr[-300:]))
        encoded[precision] = read_safetensors(out) if result.returncode == 0 else {}
    if encoded["float32"] and encoded["bfloat16"]:
        for name in ("image_embeds", "text_embeds"):
            _, shape, exact = encoded["float32"][name]
            approximate = encoded["bfloat16"][name].values
            worst = min(cosine(a, b) for a, b in zip(rows(exact, shape[-1]), rows(approximate, shape[-1])))
            check(worst >= 0.999, "%s in bfloat16: cosine %.6f to float32 (need >= 0.999)" % (name, worst))
            check((exact != approximate) == has_bfloat16,
                  "%s in bfloat16 differs from float32 exactly when there is a bfloat16 kernel" % name)

    reference = read_safetensors(os.path.join(tiny, "train_step.safetensors"))
    out = os.path.join(scratch, "step.safetensors")
    result = run("loss", "--model", os.path.join(tiny, "openai.safetensors"), "--batch",
                 os.path.join(tiny, "train_step.safetensors"), "--out", out, "--precision", "bf16")
    check(result.returncode == 0, "loss --precision bf16 exits 0: " + result.stderr[-300:])
    if result.returncode == 0:
        step = read_safetensors(out)
        loss, expected = step["loss"].values[0], reference["loss"].values[0]
        check(abs(loss - expected) <= 0.02 * abs(expected), "bfloat16 loss %.5f within 2%% of PyTorch's %.5f" % (loss, expected))
        for name in ("grad.visual.proj", "grad.text_projection", "grad.visual.conv1.weight",
                     "grad.transformer.resblocks.0.attn.in_proj_weight"):
            similarity = cosine(step[name].values, reference[name].values)
            check(similarity >= 0.99, "%s in bfloat16: cosine %.5f to PyTorch's float32 (need >= 0.99)" % (name, similarity))

    bench = run("bench", "--model", os.path.join(tiny, "openai.safetensors"), "--what", "image", "--batch", "2",
                "--iters", "1", "--warmup", "0", "--precision", "bfloat16")
    check(bench.returncode == 0 and json.loads(bench.stdout)["precision"] == "bfloat16",
          "bench --precision bfloat16 reports its precision: " + bench.stdout + bench.stderr[-300:])
    for command in (["encode", "--model", tiny, "--inputs", os.path.join(tiny, "inputs.safetensors"), "--out",
                     os.path.join(scratch, "x.safetensors")],
                    ["bench", "--model", os.path.join(tiny, "openai.safetensors"), "--what", "image", "--batch", "2"]):
        for value, expected in (("float16", "--device cuda"), ("half", "unknown precision 'half'")):
            refused = run(*command, "--precision", value)
            check(refused.returncode == 2 and expected in refused.stderr,
                  "%s --precision %s: exit 2 saying %r: %s" % (command[0], value, expected, refused.stderr[-300:]))

finish("precision")
