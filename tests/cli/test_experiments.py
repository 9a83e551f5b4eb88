"""Smoke test of every clipft-experiment sub-command on a tiny generated dataset and the tiny fixture model.

Usage: test_experiments.py CLIPFT_EXECUTABLE CLIPFT_EXPERIMENT_EXECUTABLE SHARED_DIR. Standard library only.
Each experiment trains for one epoch of two batches of four images: the point is that every table is
printed with its rows and numbers, every plot and results.json are written, and the numbers agree
with each other where they must (an average column, top-K with K = all descriptions, Table 8's means).
"""
import csv
import json
import math
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, last_json, png_size, require_shared, run, synth  # noqa: E402

clipft, experiment, shared = sys.argv[1], sys.argv[2], sys.argv[3]
model = os.path.join(shared, "fixtures", "tiny-a")
started = time.time()


def table_row(stdout, name):
    """The numbers of the table line that starts with `name` ('-' as NaN), or None."""
    for line in stdout.splitlines():
        if line.startswith(name + " "):
            cells = line[len(name):].split()
            try:
                return [math.nan if cell == "-" else float(cell) for cell in cells]
            except ValueError:
                return None
    return None


def results_of(out):
    path = os.path.join(out, "results.json")
    return json.load(open(path, encoding="utf-8")) if os.path.exists(path) else {"tables": [], "plots": []}


def json_row(results, table_start, name):
    for table in results["tables"]:
        if table["title"].startswith(table_start):
            for row in table["rows"]:
                if row["name"] == name:
                    return row["values"]
    return None


def experiment_ran(result, out, what, rows, plots):
    """Exit 0, every row printed with numbers within [0, 100], the plots and results.json written."""
    check(result.returncode == 0, what + " exits 0: " + result.stderr[-800:])
    for name in rows:
        values = table_row(result.stdout, name)
        check(values is not None and values and all(0 <= v <= 100 for v in values if not math.isnan(v)),
              "%s prints the row '%s' with AUC %% values (%s)" % (what, name, values))
    for plot in plots:
        path = os.path.join(out, plot)
        ok = os.path.exists(path) and open(path, encoding="utf-8").read().rstrip().endswith("</svg>")
        check(ok, "%s writes the SVG plot %s" % (what, plot))
    check(os.path.exists(os.path.join(out, "results.json")), what + " writes results.json")


require_shared(model)

tiny = ["--epochs", "1", "--batches-per-epoch", "2", "--batch", "4", "--quiet"]

with tempfile.TemporaryDirectory() as scratch:
    # clipft synth: the tiny datasets, 12 real faces and 6 fakes of each manipulation, 32 x 32 pixels
    train, test = os.path.join(scratch, "train"), os.path.join(scratch, "test")
    for folder, seed in [(train, 1), (test, 2)]:
        line = last_json(synth(clipft, folder, seed=seed))
        check(line.get("real") == 12 and line.get("fake") == {"SelfBlended": 6, "FaceSwap": 6}, "synth reports its counts: %s" % line)
    counts = {part: len(os.listdir(os.path.join(train, *part.split("/")))) for part in ["real", "fake/SelfBlended", "fake/FaceSwap"]}
    check(counts == {"real": 12, "fake/SelfBlended": 6, "fake/FaceSwap": 6}, "synth writes the folders: %s" % counts)
    first = os.path.join(train, "fake", "FaceSwap", sorted(os.listdir(os.path.join(train, "fake", "FaceSwap")))[0])
    check(png_size(first) == (32, 32), "synth writes 32 x 32 PNG images")
    again = run(clipft, "synth", "--out", train, "--images", "12", "--size", "32")
    check(again.returncode == 1 and "already holds files" in again.stderr, "synth refuses a folder that holds a dataset: " + again.stderr)
    check(run(clipft, "synth", "--out", os.path.join(scratch, "x"), "--images", "1").returncode == 2, "synth --images 1: exit 2")

    # zero-shot (Table 3) on two test sets: an AVG column, and the per-manipulation table
    out = os.path.join(scratch, "zero-shot")
    zero_shot = run(experiment, "zero-shot", "--model", model, "--test", "heldout=" + test, "seen=" + train, "--out", out, "--quiet")
    experiment_ran(zero_shot, out, "zero-shot", ["CLIP (zero-shot - 1desc)", "CLIP (zero-shot - 550desc)"],
                   ["roc-heldout.svg", "roc-seen.svg"])
    check("Table 3" in zero_shot.stdout and "AVG" in zero_shot.stdout, "zero-shot prints Table 3 with an AVG column")
    row = table_row(zero_shot.stdout, "CLIP (zero-shot - 550desc)")
    if row and len(row) == 3:
        check(abs(row[2] - (row[0] + row[1]) / 2) <= 0.011, "AVG is the mean of the test sets' AUCs: %s" % row)
    check("AUC % per manipulation of test set heldout" in zero_shot.stdout, "zero-shot prints the per-manipulation table")
    header = next((line for line in zero_shot.stdout.splitlines() if line.startswith("Method") and "FaceSwap" in line), "")
    check("SelfBlended" in header, "the per-manipulation table has a column per manipulation: " + header)
    zero_shot_550 = json_row(results_of(out), "Table 3", "CLIP (zero-shot - 550desc)")

    # top-k (Table 12, Figure 5): top-1100 of 1,100 descriptions and class-top-550 are the plain mean
    out = os.path.join(scratch, "top-k")
    top_k = run(experiment, "top-k", "--model", model, "--test", "heldout=" + test, "seen=" + train, "--k", "1", "5", "550", "1100",
                "--out", out, "--quiet")
    experiment_ran(top_k, out, "top-k", ["CLIP (top-1)", "CLIP (top-5)", "CLIP (top-1100)", "CLIP (class-top-1)", "CLIP (class-top-550)"],
                   ["top-k.svg"])
    results = results_of(out)
    every = json_row(results, "Table 12", "CLIP (top-1100)")
    own = next((row["values"] for table in results["tables"] for row in table["rows"] if row["name"] == "CLIP (class-top-550)"), None)
    if zero_shot_550 and every and own:
        check(all(abs(a - b) < 1e-9 for a, b in zip(every, zero_shot_550)), "top-1100 equals the mean of all 550desc logits")
        check(all(abs(a - b) < 1e-9 for a, b in zip(own, zero_shot_550)), "class-top-550 equals the mean of all 550desc logits")
    else:
        check(False, "results.json holds the zero-shot and top-K rows")
    svg = open(os.path.join(out, "top-k.svg"), encoding="utf-8").read() if os.path.exists(os.path.join(out, "top-k.svg")) else ""
    check(svg.count('class="series"') == 4 and "heldout (per-class top-K)" in svg, "top-k plots a line per test set and rule")

    # reset-vision (Table 5): five description sets trained one after another, a zero-shot row for comparison
    out = os.path.join(scratch, "reset-vision")
    reset = run(experiment, "reset-vision", "--model", model, "--train", train, "--test", test, "--zero-shot", "1desc",
                "--out", out, *tiny)
    sets = ["1desc", "550desc", "catDog", "carMoto", "FlakeBall"]
    experiment_ran(reset, out, "reset-vision", ["CLIP (zero-shot - 1desc)"] + ["CLIP (%s)" % name for name in sets], ["roc-test.svg"])
    check("Table 5" in reset.stdout, "reset-vision prints Table 5")
    for name in sets:
        check(os.path.exists(os.path.join(out, name, "best.safetensors")) and os.path.exists(os.path.join(out, name, "loss.svg")),
              "reset-vision keeps the run of %s in its own folder" % name)

    # full (Table 6)
    out = os.path.join(scratch, "full")
    full = run(experiment, "full", "--model", model, "--train", train, "--test", test, "--out", out, *tiny)
    experiment_ran(full, out, "full", ["CLIP (1desc)", "CLIP (10desc)", "CLIP (550desc)"], ["roc-test.svg"])
    check("Table 6" in full.stdout, "full prints Table 6")
    tuned_10desc = os.path.join(out, "10desc", "best.safetensors")

    # the recipe's options are clipft finetune's: --schedule step multiplies the rate by --gamma every --step-size updates
    out = os.path.join(scratch, "full-step")
    stepped = run(experiment, "full", "--model", model, "--train", train, "--test", test, "--out", out, "--descriptions", "1desc",
                  "--lr", "1e-3", "--schedule", "step", "--step-size", "1", "--gamma", "0.5", *tiny)
    check(stepped.returncode == 0, "full --schedule step exits 0: " + stepped.stderr[-800:])
    metrics = os.path.join(out, "1desc", "metrics.csv")
    rows = list(csv.DictReader(open(metrics, encoding="utf-8"))) if os.path.exists(metrics) else []
    check(len(rows) == 1 and abs(float(rows[0]["lr"]) - 5e-4) < 1e-15, "--schedule step: the second update's rate is 1e-3 * 0.5: %s" % rows)

    def usage_message(result):
        """The message of a usage error, without the program's name before it and the --help hint after it."""
        line = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        return line.split(": ", 1)[-1].split(" (see ")[0]

    bad_schedule = run(experiment, "full", "--model", model, "--train", train, "--test", test, "--out", out, "--schedule", "linear", *tiny)
    finetune_bad = run(clipft, "finetune", "--model", model, "--data", train, "--descriptions", "1desc", "--schedule", "linear",
                       "--out", os.path.join(scratch, "finetune-bad"), "--quiet")
    check(bad_schedule.returncode == 2 and finetune_bad.returncode == 2 and "linear" in usage_message(bad_schedule)
          and usage_message(bad_schedule) == usage_message(finetune_bad),
          "--schedule linear: the usage error of clipft finetune: %r, %r" % (bad_schedule.stderr, finetune_bad.stderr))
    bad_step = run(experiment, "full", "--model", model, "--train", train, "--test", test, "--out", out, "--schedule", "step",
                   "--step-size", "0", *tiny)
    check(bad_step.returncode == 2 and "step_size" in bad_step.stderr, "--schedule step --step-size 0: exit 2: " + bad_step.stderr)

    # leave-one-out (Table 7): one model per manipulation, each tested on the one it never saw
    out = os.path.join(scratch, "leave-one-out")
    leave = run(experiment, "leave-one-out", "--model", model, "--train", train, "--test", test, "--out", out, *tiny)
    experiment_ran(leave, out, "leave-one-out", ["CLIP (1desc) without FaceSwap", "CLIP (1desc) without SelfBlended"], ["roc-test.svg"])
    table7 = table_row(leave.stdout, "CLIP (1desc)")
    check("Table 7" in leave.stdout and table7 is not None and len(table7) == 2, "leave-one-out prints Table 7: %s" % table7)
    for subset in ["FaceSwap", "SelfBlended"]:
        check(os.path.exists(os.path.join(out, "without-" + subset, "best.safetensors")), "leave-one-out trains without " + subset)
    bad = run(experiment, "leave-one-out", "--model", model, "--train", train, "--test", test, "--out", out, "--subsets", "Nope", *tiny)
    check(bad.returncode == 2 and "Nope" in bad.stderr, "leave-one-out --subsets of an unknown manipulation: exit 2: " + bad.stderr)

    # peft: five methods, each row's trained parameters (LoRA and SVD of rank 8 on q and v of tiny-a's 4 blocks,
    # 4 prompt vectors of width 64) and AUC % per test set
    out = os.path.join(scratch, "peft")
    peft = run(experiment, "peft", "--model", model, "--train", train, "--test", test, "--out", out, "--lr", "1e-3", *tiny)
    check(peft.returncode == 0, "peft exits 0: " + peft.stderr[-800:])
    results = results_of(out)
    rows = ["full", "layer-norm", "LoRA (r 8, q,v)", "SVD residual (r 8, q,v)", "prompt (4 vectors)"]
    costs = [json_row(results, "Cost of each method", name) for name in rows]
    aucs = [json_row(results, "AUC % of each fine-tuning method", name) for name in rows]
    check(all(costs) and [row[0] for row in costs][2:] == [4 * 2 * 8 * 128, 4 * 2 * 8 * 129, 4 * 64] and costs[0][0] == 3384897
          and 0 < costs[1][0] < 3000 and all(row[1] > 0 and row[2] > 0 for row in costs),
          "peft reports each method's trained parameters, time per update and peak memory: %s" % costs)
    check(all(aucs) and all(0 <= row[0] <= 100 for row in aucs), "peft reports each method's AUC %%: %s" % aucs)

    # similarity (Figure 7, Table 8): 20 x 20 heatmaps before and after fine-tuning, and their block means
    out = os.path.join(scratch, "similarity")
    similar = run(experiment, "similarity", "--model", model, "--train", train, "--out", out, *tiny)
    check(similar.returncode == 0, "similarity exits 0: " + similar.stderr[-800:])
    for name in ["CLIP (zero-shot - 10desc)", "CLIP (10desc)"]:
        values = table_row(similar.stdout, name)
        check(values is not None and len(values) == 5 and all(-1 <= v <= 1 for v in values), "similarity prints %s: %s" % (name, values))
    for plot in ["similarity-before.svg", "similarity-after.svg"]:
        path = os.path.join(out, plot)
        svg = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        check(svg.count('<rect class="cell"') == 400 and 'class="scale"' in svg, plot + " is a 20 x 20 heatmap with a colour scale")
    details = results_of(out).get("details", {})
    before = details.get("before", [])
    check(len(before) == 20 and all(abs(before[i][i] - 1) < 1e-4 for i in range(20)), "each description is similar to itself")
    printed = table_row(similar.stdout, "CLIP (zero-shot - 10desc)")
    if len(before) == 20 and printed:
        real_real = sum(before[i][j] for i in range(10) for j in range(10)) / 100
        real_fake = sum(before[i][j] for i in range(10) for j in range(10, 20)) / 100
        fake_off = sum(before[i][j] for i in range(10, 20) for j in range(10, 20) if i != j) / 90
        check(abs(printed[0] - real_real) <= 0.006 and abs(printed[1] - real_fake) <= 0.006 and abs(printed[4] - fake_off) <= 0.006,
              "Table 8's means are those of the matrix: %s" % printed)
    reused = run(experiment, "similarity", "--model", model, "--finetuned", tuned_10desc, "--out", os.path.join(scratch, "again"), "--quiet")
    check(reused.returncode == 0 and table_row(reused.stdout, "CLIP (10desc)") is not None,
          "similarity --finetuned reads a fine-tuned checkpoint: " + reused.stderr[-300:])

    # usage errors and failures
    check(run(experiment, "zero-shot", "--model", model, "--out", out).returncode == 2, "an experiment without --test: exit 2")
    check(run(experiment, "full", "--bogus").returncode == 2, "an unknown option: exit 2")
    check(run(experiment, "nope").returncode == 2, "an unknown experiment: exit 2")
    missing = run(experiment, "full", "--model", model, "--train", os.path.join(scratch, "missing"), "--test", test, "--out", out, *tiny)
    check(missing.returncode == 1 and "missing" in missing.stderr, "a missing training set: exit 1 naming it: " + missing.stderr)
    check(run(experiment, "--help").returncode == 0 and "leave-one-out" in run(experiment, "--help").stdout, "--help lists the experiments")

print("experiments: %.1f s" % (time.time() - started))
finish("experiments")
