"""Crash safety of clipft finetune: kill -9 at random moments never costs the last checkpoint and the
run resumes to the same result as one never killed; a write that fails midway (disk full, file-size
limit) exits 1 naming the file, and leaves the previous checkpoint and no partial file behind.

Usage: test_crash_safety.py CLIPFT_EXECUTABLE SHARED_DIR. Standard library only; POSIX only.
"""
import json
import os
import random
import re
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, last_json, require_shared, runner, synth  # noqa: E402

clipft, shared = sys.argv[1], sys.argv[2]
model = os.path.join(shared, "fixtures", "tiny-a")
run = runner(clipft)
started = time.time()
# The names write_file_atomically gives its temporary files: .<target>.tmp-<pid>-<counter>-<random>
temporary_name = re.compile(r"^\..+\.tmp-(\d+)-\d+-\d+$")


def whole_checkpoint_step(path):
    """The trainer step saved in a checkpoint.safetensors, if the file is whole (its header parses,
    the tensors lie inside the file and fill its body exactly); None otherwise."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        return None
    (length,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + length])
        ranges = sorted(entry["data_offsets"] for name, entry in header.items() if name != "__metadata__")
        state = json.loads(header["__metadata__"]["trainer"])
    except (ValueError, KeyError, TypeError):
        return None
    body = len(data) - 8 - length
    contiguous = ranges and ranges[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    return state["step"] if contiguous and ranges[-1][1] == body else None


def temporary_files(folder):
    """{name: writer pid} of the temporary files in folder."""
    return {name: int(match.group(1)) for name in os.listdir(folder) for match in [temporary_name.match(name)] if match}


def limit_file_size(size):
    """A preexec_fn: files may not grow beyond `size` bytes, and a write past it fails with EFBIG
    instead of killing the process with SIGXFSZ (a full disk, without needing to mount one)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    return apply


require_shared(model)

with tempfile.TemporaryDirectory() as scratch:
    data = os.path.join(scratch, "data")
    synth(clipft, data, seed=1)
    # A checkpoint after every update, so that kills land in and between checkpoint writes.
    arguments = ["finetune", "--model", model, "--data", data, "--descriptions", "1desc", "--batch", "4",
                 "--batches-per-epoch", "3", "--lr", "1e-3", "--schedule", "constant", "--validation-fraction", "0.34",
                 "--patience", "0", "--checkpoint-every", "1", "--quiet"]

    # The run never killed: the result every killed and resumed run must reach.
    reference_started = time.time()
    reference = run(*arguments, "--epochs", "4", "--out", os.path.join(scratch, "reference"))
    reference_seconds = time.time() - reference_started
    check(reference.returncode == 0, "the reference run exits 0: " + reference.stderr[-500:])
    expected = last_json(reference)
    check(expected.get("steps") == 12, "the reference run makes 12 updates: %s" % expected)

    # kill -9 at random moments (within the first half of a whole run's time, so that most kills land
    # while training), and, every other time, as soon as a checkpoint is being written (when its
    # temporary file appears). Every time, the checkpoint is whole, never older than the one before,
    # and the next run resumes from it.
    out = os.path.join(scratch, "killed")
    checkpoint = os.path.join(out, "checkpoint.safetensors")
    moments = random.Random(int(os.environ.get("CLIPFT_CRASH_SEED", "9")))
    last_step, killed_pids = -1, set()
    for attempt in range(8):
        resume = ["--resume"] if os.path.exists(checkpoint) else []
        process = subprocess.Popen([clipft, *arguments, "--epochs", "4", "--out", out, *resume],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if attempt % 2 == 0:
            delay = moments.uniform(0.1, 0.5) * reference_seconds
            what = "attempt %d (killed after %.2f s)" % (attempt, delay)
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                process.kill()
        else:
            what = "attempt %d (killed while writing the checkpoint)" % attempt
            while process.poll() is None and not any(name.startswith(".checkpoint.safetensors.") and pid == process.pid
                                                     for name, pid in (temporary_files(out) if os.path.isdir(out) else {}).items()):
                time.sleep(0.001)
            process.kill()
        _, stderr = process.communicate()
        if process.returncode != -signal.SIGKILL:  # finished before the kill: must have succeeded
            check(process.returncode == 0, what + ": a run that was not killed exits 0: " + stderr[-500:])
            break
        killed_pids.add(process.pid)
        if os.path.exists(checkpoint):
            step = whole_checkpoint_step(checkpoint)
            check(step is not None, what + ": checkpoint.safetensors is whole")
            check(step is None or step >= last_step, what + ": the checkpoint never goes back (step %s < %d)" % (step, last_step))
            last_step = step if step is not None else last_step
        # A killed writer leaves its temporary file; the next run that gets as far as training removes it.
        left = temporary_files(out) if os.path.isdir(out) else {}
        check(set(left.values()) <= killed_pids, what + ": temporary files come from killed runs only: %s" % left)

    finished = run(*arguments, "--epochs", "4", "--out", out, *(["--resume"] if os.path.exists(checkpoint) else []))
    check(finished.returncode == 0, "the killed run resumes and finishes: " + finished.stderr[-500:])
    check(last_json(finished) == {**expected, "best_weights": os.path.join(out, "best.safetensors"),
                                  "loss_plot": os.path.join(out, "loss.svg")},
          "the killed and resumed run ends as the run never killed: %s vs %s" % (last_json(finished), expected))
    check(not temporary_files(out), "no temporary file is left: %s" % temporary_files(out))
    print("crash safety: %d runs killed at random moments, then resumed" % len(killed_pids))

    # Disk full while writing the checkpoint: files may not grow past 8 MiB (the checkpoint of the tiny
    # model is about 40 MB), so the first checkpoint of a 5th epoch fails midway.
    with open(checkpoint, "rb") as f:
        before = f.read()
    limited = run(*arguments, "--epochs", "5", "--out", out, "--resume", preexec_fn=limit_file_size(8 << 20))
    message = limited.stderr.strip().splitlines()[-1] if limited.stderr.strip() else ""
    check(limited.returncode == 1, "a failed checkpoint write exits 1, not %s: %s" % (limited.returncode, limited.stderr[-500:]))
    check("checkpoint.safetensors: write failed" in message and "File too large" in message and "ulimit -f" in message,
          "the message names the file, the reason and what to do: " + message)
    with open(checkpoint, "rb") as f:
        check(f.read() == before, "the previous checkpoint is intact")
    check(not temporary_files(out), "no partial file is left: %s" % temporary_files(out))
    continued = run(*arguments, "--epochs", "5", "--out", out, "--resume")
    check(continued.returncode == 0 and last_json(continued).get("steps") == 15,
          "with space again, the run resumes from the previous checkpoint: " + continued.stderr[-500:])

print("crash safety: %.0f s" % (time.time() - started))
finish("crash safety")
