#!/usr/bin/env python3
"""`mpirun -np 2 clipft finetune` against one process: the same run (steps, validation loss, best
weights to 1e-6, see tests/mpi/test_data_parallel.cpp for why), one result line and one output folder
written by rank 0, a resume on one process of the two ranks' checkpoint, and a refusal to run as
independent single processes under mpirun.

usage: test_mpi_finetune.py CLIPFT SHARED_DIR MPIRUN [MPIRUN_ARGUMENTS...]   (e.g. mpiexec -n 2 --oversubscribe)
"""
import functools
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import check, finish, largest_difference, read_safetensors, require_shared, synth  # noqa: E402

clipft, shared, mpirun = sys.argv[1], sys.argv[2], sys.argv[3:]
model = os.path.join(shared, "fixtures", "tiny-a")
run = functools.partial(common.run, timeout=300)


def float_tensors(path):
    """name -> values of every F32 tensor of a safetensors file."""
    return {name: tensor.values for name, tensor in read_safetensors(path).items() if tensor.dtype == "F32"}


require_shared(model)

os.environ["OPENBLAS_NUM_THREADS"] = "1"
with tempfile.TemporaryDirectory() as scratch:
    data = os.path.join(scratch, "data")
    synth(clipft, data, images=24, seed=0)
    arguments = ["finetune", "--model", model, "--data", data, "--descriptions", "1desc", "--batch", "8",
                 "--batches-per-epoch", "3", "--lr", "1e-5", "--schedule", "constant",
                 "--validation-fraction", "0.25", "--patience", "0", "--threads", "1", "--quiet"]
    one = run(clipft, *arguments, "--epochs", "2", "--out", os.path.join(scratch, "one"))
    two = run(*mpirun, clipft, *arguments, "--epochs", "2", "--out", os.path.join(scratch, "two"))
    check(one.returncode == 0, "one process exits 0: " + one.stderr[-300:])
    check(two.returncode == 0, "two ranks exit 0: " + two.stderr[-500:])
    if one.returncode == 0 and two.returncode == 0:
        single = json.loads(one.stdout.strip())
        lines = two.stdout.strip().splitlines()
        check(len(lines) == 1, "only rank 0 prints the result: %s" % lines)
        double = json.loads(lines[-1])
        check(double["steps"] == single["steps"] == 6, "the same 6 updates: %s" % double)
        check(abs(double["best_validation_loss"] - single["best_validation_loss"]) < 1e-5 * single["best_validation_loss"],
              "the same validation loss: %s and %s" % (double["best_validation_loss"], single["best_validation_loss"]))
        a = float_tensors(os.path.join(scratch, "one", "best.safetensors"))
        b = float_tensors(os.path.join(scratch, "two", "best.safetensors"))
        largest = max(largest_difference(a[name], b[name]) for name in a)
        check(a.keys() == b.keys() and largest <= 1e-6, "the same best weights (largest difference %g)" % largest)
        check(sorted(os.listdir(os.path.join(scratch, "two"))) == sorted(os.listdir(os.path.join(scratch, "one"))),
              "the same output files")
        resumed = run(clipft, *arguments, "--epochs", "3", "--out", os.path.join(scratch, "two"), "--resume")
        check(resumed.returncode == 0 and json.loads(resumed.stdout.strip())["steps"] == 9,
              "one process resumes the two ranks' run for a third epoch: " + resumed.stderr[-300:])
    # LoRA adapters are ordinary trainable parameters: averaged over the ranks, the same factors.
    lora = ["--method", "lora", "--rank", "2", "--lr", "1e-3", "--epochs", "1"]
    one = run(clipft, *arguments, *lora, "--out", os.path.join(scratch, "lora-one"))
    two = run(*mpirun, clipft, *arguments, *lora, "--out", os.path.join(scratch, "lora-two"))
    check(one.returncode == 0 and two.returncode == 0, "LoRA on one process and two ranks exits 0: " + one.stderr[-300:] + two.stderr[-300:])
    if one.returncode == 0 and two.returncode == 0:
        a = float_tensors(os.path.join(scratch, "lora-one", "adapter.safetensors"))
        b = float_tensors(os.path.join(scratch, "lora-two", "adapter.safetensors"))
        largest = max(largest_difference(a[name], b[name]) for name in a)
        check(a.keys() == b.keys() and len(a) == 16 and largest <= 1e-6, "the same LoRA factors (largest difference %g)" % largest)
    alone = run(*mpirun, clipft, *arguments, "--epochs", "1", "--out", os.path.join(scratch, "alone"), "--distributed", "single")
    check(alone.returncode != 0 and "started by mpirun" in alone.stderr,
          "under mpirun, a single-process run is refused: " + alone.stderr[-300:])

finish("mpi finetune")
