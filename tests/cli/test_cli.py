"""The clipft command against its contract (SPEC's command table): outputs, files, exit codes.

Usage: test_cli.py CLIPFT_EXECUTABLE SHARED_DIR. Standard library only.
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import auc, check, finish, last_json, png_bytes, png_size, read_safetensors, require_shared, runner  # noqa: E402

clipft, shared = sys.argv[1], sys.argv[2]
fixtures = os.path.join(shared, "fixtures")
run = runner(clipft)
require_shared(fixtures)

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

# metrics: scikit-learn's values from metrics.json, overall, per subset and per video
metric_cases = {case["name"]: case for case in json.load(open(os.path.join(fixtures, "metrics.json")))}
metric_keys = [("auc", "roc_auc"), ("ap", "average_precision"), ("eer", "eer"), ("precision", "precision"),
               ("recall", "recall"), ("accuracy", "accuracy"), ("n_pos", "n_pos"), ("n_neg", "n_neg")]


def check_metrics(result, case, what):
    for ours, theirs in metric_keys:
        check(ours in result and abs(result[ours] - case[theirs]) <= 1e-9,
              "%s: %s %s, expected %s" % (what, ours, result.get(ours), case[theirs]))


def write_rows(path, header, rows):
    with open(path, "w") as f:
        if header:
            f.write(header + "\n")
        for row in rows:
            f.write(",".join(repr(value) if isinstance(value, float) else str(value) for value in row) + "\n")


with tempfile.TemporaryDirectory() as scratch:
    scores_csv = os.path.join(scratch, "scores.csv")
    for name, case in metric_cases.items():
        rows = list(zip(case["labels"], case["scores"]))
        write_rows(scores_csv, "label,score", rows)
        done = run("metrics", "--scores", scores_csv)
        check(done.returncode == 0, "metrics exits 0 on " + name + ": " + done.stderr)
        if done.returncode == 0:
            check_metrics(json.loads(done.stdout), case, "metrics " + name)
    write_rows(scores_csv, None, zip(metric_cases["ties_50"]["labels"], metric_cases["ties_50"]["scores"]))
    headerless = run("metrics", "--scores", scores_csv)
    check(headerless.returncode == 0, "metrics reads a file without header: " + headerless.stderr)
    if headerless.returncode == 0:
        check_metrics(json.loads(headerless.stdout), metric_cases["ties_50"], "metrics without header")

    # Subsets: three fixture cases in one file, rows interleaved; columns in another order.
    subset_names = ["tiny_5", "ties_50", "perfect_20"]
    rows = [(name, label, score) for name in subset_names
            for label, score in zip(metric_cases[name]["labels"], metric_cases[name]["scores"])]
    random.Random(0).shuffle(rows)
    write_rows(scores_csv, "subset,score,label", [(name, score, label) for name, label, score in rows])
    plot_svg = os.path.join(scratch, "roc.svg")
    done = run("metrics", "--scores", scores_csv, "--roc-plot", plot_svg)
    check(done.returncode == 0, "metrics with subsets exits 0: " + done.stderr)
    if done.returncode == 0:
        result = json.loads(done.stdout)
        check(sorted(result.get("subsets", {})) == sorted(subset_names), "metrics reports every subset")
        for name in subset_names:
            check_metrics(result.get("subsets", {}).get(name, {}), metric_cases[name], "metrics of subset " + name)
        check(result.get("n_pos") == sum(metric_cases[name]["n_pos"] for name in subset_names), "n_pos counts all rows")
        with open(plot_svg) as f:
            svg = f.read()
        check(svg.startswith("<?xml") and svg.rstrip().endswith("</svg>") and all(name in svg for name in subset_names),
              "--roc-plot writes an SVG with a curve per subset")

    # Videos: each score of ties_50 becomes a video whose frames (1 to 3, in exactly representable
    # offsets) average to that score, so the video-level values are the fixture's; a maximum or
    # first frame instead of the mean would rank the videos differently.
    case = metric_cases["ties_50"]
    patterns = [[0.0], [-0.25, 0.25], [-0.25, 0.125, 0.125]]
    rows = [(label, score + offset, "video%d" % i) for i, (label, score) in enumerate(zip(case["labels"], case["scores"]))
            for offset in patterns[i % 3]]
    random.Random(1).shuffle(rows)
    write_rows(scores_csv, "label,score,video", rows)
    done = run("metrics", "--scores", scores_csv)
    check(done.returncode == 0, "metrics with videos exits 0: " + done.stderr)
    if done.returncode == 0:
        result = json.loads(done.stdout)
        check_metrics(result.get("videos", {}), case, "metrics over videos")
        check(result.get("n_pos") == sum(len(patterns[i % 3]) for i, label in enumerate(case["labels"]) if label == 1),
              "frame-level n_pos counts frames")

    # Errors: file and line, exit codes
    write_rows(scores_csv, "label,score", [(1, 0.5), (0, 0.25), (2, 0.75)])
    bad = run("metrics", "--scores", scores_csv)
    check(bad.returncode == 1 and "scores.csv:4" in bad.stderr and "label '2'" in bad.stderr,
          "a bad label: exit 1 naming file and line: " + bad.stderr)
    write_rows(scores_csv, None, [(1, 0.5), (0, "x")])
    bad = run("metrics", "--scores", scores_csv)
    check(bad.returncode == 1 and "scores.csv:2" in bad.stderr, "a bad score: exit 1 naming file and line: " + bad.stderr)
    write_rows(scores_csv, "label,score", [(1, 0.5), (1, 0.25)])
    bad = run("metrics", "--scores", scores_csv)
    check(bad.returncode == 1 and "none negative" in bad.stderr, "a single class: exit 1 saying which is missing: " + bad.stderr)
    check(run("metrics").returncode == 2, "metrics without --scores: exit 2")
    check(run("metrics", "--help").returncode == 0, "metrics --help exits 0")

# loss: the tiny-a training step in both layouts, against PyTorch's loss, gradients and AdamW step
def close(actual, expected, absolute, relative):
    return all(abs(a - b) <= absolute + relative * abs(b) for a, b in zip(actual, expected)) and len(actual) == len(expected)


with tempfile.TemporaryDirectory() as scratch:
    reference = read_safetensors(os.path.join(fixtures, "tiny-a", "train_step.safetensors"))
    for model in ("openai.safetensors", ""):  # "" = the HuggingFace directory
        out = os.path.join(scratch, "step.safetensors")
        result = run("loss", "--model", os.path.join(fixtures, "tiny-a", model),
                     "--batch", os.path.join(fixtures, "tiny-a", "train_step.safetensors"), "--out", out)
        check(result.returncode == 0, "loss on %s exits 0: %s" % (model or "the HF directory", result.stderr))
        if result.returncode != 0:
            continue
        step = read_safetensors(out)
        check(close(step["loss"][2], reference["loss"][2], 0, 1e-5), "loss matches PyTorch")
        if model:  # OpenAI names: compare every dense gradient and update with the reference
            for name, (dtype, shape, values) in reference.items():
                if name.startswith("grad.") and not name.startswith("grad.token_embedding"):
                    check(step[name][1] == shape and close(step[name][2], values, 1e-5, 1e-3), name + " matches")
                if name.startswith("after.") and not name.startswith("after.token_embedding"):
                    check(close(step[name][2], values, 2e-4, 0), name + " matches")
            check(step["grad.token_embedding.weight"][1] == [49408, 64], "the token embedding gradient is written in full")
        else:  # HuggingFace names: split q/k/v, transposed projections
            check("grad.text_model.encoder.layers.0.self_attn.q_proj.weight" in step and
                  step["after.visual_projection.weight"][1] == [32, 64], "HF checkpoints get HF names")
            check(close(step["grad.text_projection.weight"][2],
                        [reference["grad.text_projection"][2][r * 32 + c] for c in range(32) for r in range(64)], 1e-5, 1e-3),
                  "the HF text projection gradient is the transposed OpenAI one")
    bad = run("loss", "--model", os.path.join(fixtures, "tiny-a", "openai.safetensors"),
              "--batch", os.path.join(fixtures, "tiny-a", "inputs.safetensors"), "--out", os.path.join(scratch, "x.safetensors"))
    check(bad.returncode == 1 and "inputs.safetensors" in bad.stderr and "pixel_values" in bad.stderr,
          "a batch file of the wrong layout: exit 1 naming the file and tensor: " + bad.stderr)


# finetune: the tiny model on a generated folder dataset, end to end, then resumed
def write_png(path, pixels, size):
    """An 8-bit RGB PNG of size x size from rows of (r, g, b) tuples."""
    with open(path, "wb") as f:
        f.write(png_bytes(size, size, b"".join(b"\x00" + bytes(v for pixel in row for v in pixel) for row in pixels)))


with tempfile.TemporaryDirectory() as scratch:
    generator = random.Random(7)
    data = os.path.join(scratch, "data")
    for label, bright_top in (("real", True), ("fake", False)):
        os.makedirs(os.path.join(data, label))
        for i in range(12):
            rows = [[tuple(max(0, min(255, (170 if (y < 16) == bright_top else 60) + generator.randint(-40, 40)))
                           for _ in range(3)) for _ in range(32)] for y in range(32)]
            write_png(os.path.join(data, label, "%02d.png" % i), rows, 32)
    out = os.path.join(scratch, "run")
    arguments = ["finetune", "--model", os.path.join(fixtures, "tiny-a"), "--data", data, "--descriptions", "1desc",
                 "--out", out, "--batch", "8", "--batches-per-epoch", "3", "--lr", "1e-3", "--schedule", "constant",
                 "--validation-fraction", "0.34", "--patience", "0", "--quiet"]
    first = run(*arguments, "--epochs", "3")
    check(first.returncode == 0, "finetune exits 0: " + first.stderr)
    if first.returncode == 0:
        summary = last_json(first)
        check(summary["steps"] == 9 and summary["epochs"] == 3, "3 epochs of 3 updates: %s" % summary)
        rows = [line.split(",") for line in open(os.path.join(out, "metrics.csv")).read().split()[1:]]
        losses = [float(row[3]) for row in rows]
        check(min(losses[1:]) < losses[0], "the validation loss decreases: %s" % losses)
        check(summary["best_validation_loss"] == min(losses) or abs(summary["best_validation_loss"] - min(losses)) < 1e-6,
              "the best epoch is the lowest validation loss")
        check(os.path.exists(os.path.join(out, "best.safetensors")), "best.safetensors is kept")
        best = read_safetensors(os.path.join(out, "best.safetensors"))
        check("visual.proj" in best and best["visual.proj"][1] == [64, 32], "best.safetensors is a loadable OpenAI checkpoint")
        resumed = run(*arguments, "--epochs", "4", "--resume")
        check(resumed.returncode == 0, "finetune --resume exits 0: " + resumed.stderr)
        if resumed.returncode == 0:
            check(last_json(resumed)["steps"] == 12, "the resumed run adds one epoch")
            check(len(open(os.path.join(out, "metrics.csv")).read().split()) == 5, "metrics.csv holds the four epochs")
    # --config: any option by name; flags on the command line win; unknown names are usage errors.
    config = os.path.join(scratch, "run.json")
    with open(config, "w") as f:
        json.dump({"epochs": 5, "batch": 8, "batches-per-epoch": 2, "lr": 1e-3, "schedule": "constant",
                   "validation-fraction": 0.34, "quiet": True, "augment": "flip,jitter=0.2"}, f)
    configured = run("finetune", "--model", os.path.join(fixtures, "tiny-a"), "--data", data, "--descriptions", "1desc",
                     "--out", os.path.join(scratch, "configured"), "--config", config, "--epochs", "1")
    check(last_json(configured).get("steps") == 2,
          "finetune --config (with --augment): settings from the file, --epochs from the command line: " + configured.stderr[-300:])
    with open(config, "w") as f:
        json.dump({"learning-rate": 1e-3}, f)
    unknown = run("finetune", "--model", os.path.join(fixtures, "tiny-a"), "--data", data, "--descriptions", "1desc",
                  "--out", os.path.join(scratch, "configured"), "--config", config)
    check(unknown.returncode == 2 and "learning-rate" in unknown.stderr, "an unknown config setting: exit 2 naming it")

    # Ctrl-C: the current update finishes, the checkpoint is written, the exit code is 130, and
    # --resume goes on from there.
    interrupted_out = os.path.join(scratch, "interrupted")
    process = subprocess.Popen([clipft, *arguments[:arguments.index("--out")], "--out", interrupted_out,
                                *arguments[arguments.index("--out") + 2:], "--epochs", "1000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = os.path.join(interrupted_out, "checkpoint.safetensors")
    deadline = time.time() + 60
    while not os.path.exists(checkpoint) and time.time() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    check(process.returncode == 130 and "interrupted" in stderr and "--resume" in stderr,
          "finetune stops on Ctrl-C with exit 130 and says how to resume: %s %s" % (process.returncode, stderr[-300:]))
    state = read_safetensors(checkpoint)
    check("model.logit_scale" in state, "the interrupted run leaves a readable checkpoint")
    resumed = run(*arguments, "--out", interrupted_out, "--epochs", "4", "--resume")
    check(resumed.returncode == 0, "an interrupted run resumes: " + resumed.stderr[-300:])
    missing = run("finetune", "--model", os.path.join(fixtures, "tiny-a"), "--data", data, "--descriptions", "nodesc", "--out", out)
    check(missing.returncode == 1 and "nodesc" in missing.stderr and "1desc" in missing.stderr,
          "an unknown description set: exit 1 listing the sets: " + missing.stderr)
    check(run("finetune", "--data", data).returncode == 2, "finetune without --model: exit 2")
    base = ["finetune", "--model", os.path.join(fixtures, "tiny-a"), "--data", data, "--descriptions", "1desc", "--out", out]
    cpu_fp16 = run(*base, "--precision", "fp16")
    check(cpu_fp16.returncode == 2 and "--device cuda" in cpu_fp16.stderr,
          "--precision fp16 on the CPU: exit 2, pointing to --device cuda: " + cpu_fp16.stderr[-300:])
    for flag, value, expected in [("--device", "gpu", "unknown device 'gpu'"), ("--precision", "half", "unknown precision 'half'")]:
        wrong = run(*base, flag, value)
        check(wrong.returncode == 1 and expected in wrong.stderr, "%s %s: exit 1 saying %r: %s" % (flag, value, expected, wrong.stderr[-300:]))

# faces: three photographs (one face each) and one video, crops + landmarks + manifest
faces_real, videos = os.path.join(shared, "data", "faces-real"), os.path.join(shared, "data", "videos")
if os.path.isdir(faces_real) and os.path.isdir(videos):
    with tempfile.TemporaryDirectory() as scratch:
        photos = [os.path.join(faces_real, name) for name in ("face_0001.jpg", "face_0103.jpg", "face_0205.jpg")]
        clip = os.path.join(videos, "preview_head-pose-face-detection-female.mp4")  # 23 frames, faces about 70 px
        broken = os.path.join(scratch, "broken.jpg")
        with open(broken, "wb") as f:
            f.write(open(photos[0], "rb").read()[:2000])
        out = os.path.join(scratch, "faces")
        found = run("faces", "--in", *photos, clip, broken, "--out", out, "--every", "5", "--min-size", "40",
                    "--upsample", "1", "--label", "real", "--quiet")
        if found.returncode == 1 and "without dlib" in found.stderr:
            check("libdlib-dev" in found.stderr, "a build without dlib says what to install: " + found.stderr)
        else:
            check(found.returncode == 0, "faces exits 0: " + found.stderr)
            summary = last_json(found)
            with_video = "videos are unsupported" not in found.stderr
            check(summary.get("images") == 3 and summary.get("skipped") == 1 and summary.get("videos") == (1 if with_video else 0),
                  "faces reads 3 images and the video and skips the broken file: %s" % summary)
            check("broken.jpg" in found.stderr, "the skipped file is named in a warning: " + found.stderr)
            manifest = os.path.join(out, "manifest.csv")
            lines = open(manifest).read().splitlines() if os.path.exists(manifest) else [""]
            header = lines[0].split(",")
            check(header == ["file", "frame", "left", "top", "width", "height", "score", "crop", "landmarks",
                             "path", "label", "subset", "video", "source", "identities"], "manifest columns: %s" % header)
            rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
            image_rows = [row for row in rows if row["frame"] == ""]
            check(sorted(row["file"] for row in image_rows) == sorted(photos), "one face per photograph")
            for row in rows:
                crop = os.path.join(out, row["crop"])
                check(os.path.exists(crop) and row["path"] == row["crop"] and row["label"] == "real",
                      "crop %s exists and is the row's path, labelled real" % row["crop"])
                if not os.path.exists(crop):
                    continue
                size = png_size(crop)
                check(size is not None, "%s is a PNG file" % crop)
                width, height = size or (0, 0)
                box_width, box_height = int(row["width"]), int(row["height"])
                # --margin 0.3: the box grows by 0.3 of its size on each side, less where the image ends.
                check(box_width <= width <= 1.6 * box_width + 1 and box_height <= height <= 1.6 * box_height + 1,
                      "crop %s is %dx%d for a %dx%d box" % (row["crop"], width, height, box_width, box_height))
                points = open(os.path.join(out, row["landmarks"])).read().split()
                check(points[0] == "x,y" and len(points) == 69, "68 landmarks for %s" % row["crop"])
            if with_video:
                frames = sorted({int(row["frame"]) for row in rows if row["frame"] != ""})
                check(len(frames) >= 4 and set(frames) <= {0, 5, 10, 15, 20}, "every 5th frame of the video: %s" % frames)
                check(all(row["video"] == "preview_head-pose-face-detection-female" for row in rows if row["frame"] != ""),
                      "video rows name their video")
            # A second run into the same folder keeps the first run's rows of other files.
            again = run("faces", "--in", os.path.join(faces_real, "face_0004.jpg"), "--out", out, "--label", "fake", "--quiet")
            check(again.returncode == 0 and len(open(manifest).read().splitlines()) == len(lines) + 1,
                  "a later run adds its rows to the manifest: " + again.stderr)
    check(run("faces", "--out", "x").returncode == 2, "faces without --in: exit 2")
    check(run("faces", "--in", os.path.join(shared, "no-such-folder"), "--out", "x").returncode == 2, "faces --in of a missing path: exit 2")

# zero-shot / eval: scores, metrics (checked against an AUC computed here from the scores), ROC plot
with tempfile.TemporaryDirectory() as scratch:
    generator = random.Random(3)
    data = os.path.join(scratch, "data")
    for folder in ("real", os.path.join("fake", "A"), os.path.join("fake", "B")):
        os.makedirs(os.path.join(data, folder))
        for i in range(4):
            rows = [[tuple(generator.randint(0, 255) for _ in range(3)) for _ in range(32)] for _ in range(32)]
            write_png(os.path.join(data, folder, "%d.png" % i), rows, 32)
    for command in ("zero-shot", "eval"):
        out = os.path.join(scratch, command)
        result = run(command, "--model", os.path.join(fixtures, "tiny-a"), "--data", data, "--descriptions", "1desc",
                     "--out", out, "--quiet")
        check(result.returncode == 0, command + " exits 0: " + result.stderr)
        if result.returncode != 0:
            continue
        summary = last_json(result)
        lines = open(os.path.join(out, "scores.csv")).read().split("\n")
        check(lines[0] == "path,label,score,subset,video,p_real,p_fake", command + " scores.csv header: " + lines[0])
        rows = [line.split(",") for line in lines[1:] if line]
        check(len(rows) == 12, command + " scores every image")
        labels, scores = [int(row[1]) for row in rows], [float(row[2]) for row in rows]
        check(all(abs(float(row[6]) - float(row[2])) < 1e-6 and abs(float(row[5]) + float(row[6]) - 1) < 1e-5 for row in rows),
              command + ": score = p_fake, probabilities sum to 1")
        check(abs(summary["auc"] - auc(labels, scores)) < 1e-6, command + ": AUC matches the scores")
        subset_a = [(l, s) for l, s, row in zip(labels, scores, rows) if row[3] in ("A", "")]
        check(abs(summary["subsets"]["A"]["auc"] - auc(*zip(*subset_a))) < 1e-6,
              command + ": subset A is scored against the reals")
        check(os.path.exists(os.path.join(out, "roc.svg")) and os.path.exists(os.path.join(out, "metrics.json")),
              command + " writes roc.svg and metrics.json")
    bad = run("zero-shot", "--model", os.path.join(fixtures, "tiny-a"), "--data", os.path.join(scratch, "missing"),
              "--descriptions", "1desc", "--out", os.path.join(scratch, "x"))
    check(bad.returncode == 1 and "missing" in bad.stderr, "zero-shot on a missing dataset: exit 1 naming it: " + bad.stderr)

# demo: a short run of the built-in job ends with its JSON line and writes its plots
with tempfile.TemporaryDirectory() as scratch:
    out = os.path.join(scratch, "demo")
    demo = run("demo", "--images", "32", "--epochs", "1", "--out", out, "--quiet")
    check(demo.returncode == 0, "demo exits 0: " + demo.stderr[-500:])
    if demo.returncode == 0:
        result = last_json(demo)
        for key in ("in_distribution_auc", "cross_manipulation_auc", "seconds", "roc_plot"):
            check(key in result, "the demo's JSON line has " + key)
        check(0 <= result.get("in_distribution_auc", -1) <= 1, "the in-distribution AUC is a probability")
        check(os.path.exists(result.get("roc_plot", "")) and os.path.exists(os.path.join(out, "loss.svg")),
              "the demo writes its ROC and loss plots")
        check("self-blended (in distribution)" in demo.stdout, "the demo prints its table")
    check(run("demo", "--images", "4").returncode == 2, "demo with too few images: exit 2")

finish("cli")
