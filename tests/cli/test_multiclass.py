"""clipft on three classes: finetune --class-from subset --k 3 on clipft synth's folders, eval and
zero-shot's "multiclass" metrics against scikit-learn's on their own scores.csv, and bad input.

Usage: test_multiclass.py CLIPFT_EXECUTABLE SHARED_DIR [CLIPFT_EXPERIMENT_EXECUTABLE] (with the
last, also clipft-experiment on the three classes). Needs numpy and scikit-learn (Debian's
python3-sklearn, installed by scripts/install-deps.sh).
"""
import csv
import json
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, last_json, require_shared, runner, synth  # noqa: E402

clipft, shared = sys.argv[1], sys.argv[2]
experiment = sys.argv[3] if len(sys.argv) > 3 else None
fixtures = os.path.join(shared, "fixtures")
run = runner(clipft)
require_shared(fixtures)

import numpy as np  # noqa: E402
from sklearn.metrics import accuracy_score, average_precision_score, confusion_matrix, roc_auc_score  # noqa: E402

classes = ["real", "FaceSwap", "SelfBlended"]
model = os.path.join(fixtures, "tiny-a")

with tempfile.TemporaryDirectory() as scratch:
    data = os.path.join(scratch, "synth")
    synth(clipft, data, images=16, seed=3)
    descriptions = os.path.join(scratch, "three")
    os.makedirs(descriptions)
    for name, text in zip(classes, ["The image of a person.", "The image of a face swap.", "The image of a blended face."]):
        with open(os.path.join(descriptions, name + ".txt"), "w") as f:
            f.write(text + "\n")
    common = ["--data", data, "--descriptions", descriptions, "--classes", ",".join(classes), "--class-from", "subset"]

    # finetune: three classes from the subsets, groups of k = 3, validated with macro AUC and accuracy
    out = os.path.join(scratch, "run")
    trained = run("finetune", "--model", model, *common, "--out", out, "--k", "3", "--batch", "6", "--epochs", "2",
                  "--batches-per-epoch", "4", "--lr", "1e-3", "--schedule", "constant", "--validation", data,
                  "--patience", "0", "--quiet")
    check(trained.returncode == 0, "finetune --class-from subset --k 3 exits 0: " + trained.stderr)
    if trained.returncode == 0:
        summary = last_json(trained)
        check(summary["steps"] == 8, "two epochs of four updates: %s" % summary)
        records = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
        validations = [r for r in records if r["kind"] == "validation"]
        check(len(validations) == 2 and all(0 <= r["accuracy"] <= 1 and 0 <= r["auc"] <= 1 for r in validations),
              "every validation reports accuracy and macro AUC: %s" % validations)
        # Groups of three: the first epoch's training loss is near ln 3 (pairs would start near ln 2).
        first = validations[0]["train_loss"] if validations else float("nan")
        check(abs(first - math.log(3)) < 0.3, "the first epoch's training loss is near ln 3: %s" % first)

    # eval (the fine-tuned weights) and zero-shot (the pretrained ones): multiclass = scikit-learn's
    for command, weights, extra in (("eval", os.path.join(out, "best.safetensors"), ["--vocab", model]),
                                    ("zero-shot", model, [])):
        if command == "eval" and trained.returncode != 0:
            continue
        result_dir = os.path.join(scratch, command)
        done = run(command, "--model", weights, *extra, *common, "--out", result_dir, "--quiet")
        check(done.returncode == 0, command + " on three classes exits 0: " + done.stderr)
        if done.returncode != 0:
            continue
        metrics = json.load(open(os.path.join(result_dir, "metrics.json")))
        check("multiclass" in metrics, command + ": metrics.json holds multiclass")
        multiclass = metrics.get("multiclass", {})
        with open(os.path.join(result_dir, "scores.csv")) as f:
            rows = list(csv.DictReader(f))
        check(len(rows) == 32, command + " scores every image (16 real, 8 of each manipulation)")
        labels = np.array([int(row["label"]) for row in rows])
        truth = np.array([classes.index(row["subset"] or "real") for row in rows])
        check((labels == truth).all(), command + ": scores.csv's label is the class index of each image's subset")
        probabilities = np.array([[float(row["p_" + name]) for name in classes] for row in rows])
        predicted = probabilities.argmax(axis=1)
        check(abs(multiclass.get("accuracy", -1) - accuracy_score(labels, predicted)) < 1e-12, command + ": accuracy = sklearn's")
        check(multiclass.get("confusion_matrix") == confusion_matrix(labels, predicted, labels=[0, 1, 2]).tolist(),
              command + ": confusion matrix = sklearn's: %s" % multiclass.get("confusion_matrix"))
        reference = roc_auc_score(labels, probabilities / probabilities.sum(axis=1, keepdims=True), multi_class="ovr", average="macro")
        check(abs(multiclass.get("macro_auc", -1) - reference) < 1e-9,
              command + ": macro AUC %s = sklearn's %s" % (multiclass.get("macro_auc"), reference))
        for c, name in enumerate(classes):
            entry = multiclass.get("per_class", {}).get(name, {})
            check(abs(entry.get("auc", -1) - roc_auc_score(labels == c, probabilities[:, c])) < 1e-9, command + ": AUC of " + name)
            check(abs(entry.get("ap", -1) - average_precision_score(labels == c, probabilities[:, c])) < 1e-9, command + ": AP of " + name)
        check("p_real" in rows[0] and "p_SelfBlended" in rows[0], command + ": scores.csv keeps its p_<class> columns")

    # clipft-experiment: the three classes fine-tuned in groups of three, each test image scored
    # 1 - P(real) (any kind of fake): the zero-shot row's AUC is scikit-learn's on zero-shot's scores.csv
    if experiment and os.path.exists(os.path.join(scratch, "zero-shot", "scores.csv")):
        classes_options = ["--classes", ",".join(classes), "--class-from", "subset", "--quiet"]
        run_experiment = runner(experiment)
        table_out = os.path.join(scratch, "experiment-zero-shot")
        zero = run_experiment("zero-shot", "--model", model, "--test", "synth=" + data, "--descriptions", descriptions,
                              "--out", table_out, *classes_options)
        check(zero.returncode == 0, "clipft-experiment zero-shot on three classes exits 0: " + zero.stderr)
        if zero.returncode == 0:
            table = json.load(open(os.path.join(table_out, "results.json")))["tables"][0]
            with open(os.path.join(scratch, "zero-shot", "scores.csv")) as f:
                rows = list(csv.DictReader(f))
            fake = np.array([row["subset"] != "" for row in rows])
            reference = 100 * roc_auc_score(fake, [1 - float(row["p_real"]) for row in rows])
            value = table["rows"][0]["values"][0]
            check(abs(value - reference) < 0.011, "zero-shot AUC %% of fake vs real %s = sklearn's %s" % (value, reference))
        full_out = os.path.join(scratch, "experiment-full")
        full = run_experiment("full", "--model", model, "--train", data, "--validation", data, "--test", data,
                              "--descriptions", descriptions, "--epochs", "1", "--batches-per-epoch", "2", "--batch", "6",
                              "--lr", "1e-3", "--out", full_out, *classes_options)
        check(full.returncode == 0 and os.path.exists(os.path.join(full_out, "results.json")),
              "clipft-experiment full fine-tunes three classes: " + full.stderr)
        odd = run_experiment("full", "--model", model, "--train", data, "--test", data, "--descriptions", descriptions,
                             "--batch", "4", "--out", full_out, *classes_options)
        check(odd.returncode == 2 and "multiple of the 3 classes" in odd.stderr, "--batch 4 for three classes: usage error: " + odd.stderr)

    # two classes: no multiclass section
    binary_dir = os.path.join(scratch, "binary")
    binary = run("zero-shot", "--model", model, "--data", data, "--descriptions", "1desc", "--out", binary_dir, "--quiet")
    check(binary.returncode == 0 and "multiclass" not in json.load(open(os.path.join(binary_dir, "metrics.json"))),
          "zero-shot on real/fake writes no multiclass section: " + binary.stderr)

    # bad input: clear errors naming what is at fault
    too_many = run("finetune", "--model", model, *common, "--out", os.path.join(scratch, "x"), "--k", "4", "--batch", "8")
    check(too_many.returncode == 2 and "--k 4 is larger than the number of classes (3" in too_many.stderr,
          "--k larger than the classes: usage error: " + too_many.stderr)
    with open(os.path.join(descriptions, "NeuralTextures.txt"), "w") as f:
        f.write("The image of a re-rendered face.\n")
    no_images = run("eval", "--model", model, "--data", data, "--descriptions", descriptions, "--class-from", "subset",
                    "--classes", "real,FaceSwap,NeuralTextures", "--out", os.path.join(scratch, "y"), "--quiet")
    check(no_images.returncode == 1 and "class 'NeuralTextures' has no images" in no_images.stderr,
          "a class without images: exit 1 naming it: " + no_images.stderr)
    missing = os.path.join(scratch, "two")
    os.makedirs(missing)
    for name in classes[:2]:
        with open(os.path.join(missing, name + ".txt"), "w") as f:
            f.write("The image of a %s.\n" % name)
    no_file = run("finetune", "--model", model, "--data", data, "--descriptions", missing, "--classes", ",".join(classes),
                  "--class-from", "subset", "--k", "3", "--batch", "6", "--out", os.path.join(scratch, "z"), "--quiet")
    check(no_file.returncode == 1 and 'has no file for class "SelfBlended"' in no_file.stderr,
          "a description set missing a class: exit 1 naming it: " + no_file.stderr)
    bad_source = run("eval", "--model", model, *common[:-1], "folder", "--out", os.path.join(scratch, "w"))
    check(bad_source.returncode == 2 and "--class-from must be label" in bad_source.stderr, "--class-from folder: usage error")
    unlisted = run("eval", "--model", model, "--data", data, "--descriptions", descriptions, "--class-from", "subset",
                   "--classes", "real,FaceSwap", "--out", os.path.join(scratch, "v"), "--quiet")
    check(unlisted.returncode == 1 and "'SelfBlended', is not among the classes asked for" in unlisted.stderr,
          "an image of a class not asked for: exit 1 naming it: " + unlisted.stderr)

finish("multiclass")
