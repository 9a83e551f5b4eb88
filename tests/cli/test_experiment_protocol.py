"""The experiment driver's protocol: --seeds (every seed's row, the configuration's row from the seed of the
lowest validation loss), --decay-all, Table 13's precision columns, Tables 1 and 2 from manifests, and
--device / --precision on every clipft-experiment command and on clipft eval and zero-shot (CPU here).

Usage: test_experiment_protocol.py CLIPFT_EXECUTABLE CLIPFT_EXPERIMENT_EXECUTABLE SHARED_DIR. Standard library only.
"""
import csv
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, require_shared, run, synth  # noqa: E402

clipft, experiment, shared = sys.argv[1], sys.argv[2], sys.argv[3]
model = os.path.join(shared, "fixtures", "tiny-a")
require_shared(model)

tiny = ["--epochs", "1", "--batches-per-epoch", "2", "--batch", "4", "--quiet"]

with tempfile.TemporaryDirectory() as scratch:
    train, test = os.path.join(scratch, "train"), os.path.join(scratch, "test")
    synth(clipft, train, seed=1)
    synth(clipft, test, seed=2)

    # --seeds: a row per seed and the configuration's row from the lowest validation loss.
    out = os.path.join(scratch, "full")
    full = run(experiment, "full", "--model", model, "--train", train, "--test", test, "--out", out, "--descriptions", "1desc",
               "--seeds", "1,2", "--decay-all", *tiny)
    check(full.returncode == 0, "full --seeds 1,2 --decay-all exits 0: " + full.stderr[-800:])
    if full.returncode == 0:
        results = json.load(open(os.path.join(out, "results.json")))
        tables = {table["title"]: table for table in results["tables"]}
        seeds = next((t for title, t in tables.items() if title.startswith("AUC % of every seed")), None)
        check(seeds is not None and [row["name"] for row in seeds["rows"]] == ["CLIP (1desc) (seed 1)", "CLIP (1desc) (seed 2)"],
              "full --seeds prints every seed's row")
        chosen = results.get("details", {}).get("seeds", {}).get("CLIP (1desc)", {})
        losses = chosen.get("validation_losses", {})
        check(set(losses) == {"1", "2"} and chosen.get("seed") == min((loss, int(seed)) for seed, loss in losses.items())[1],
              "the chosen seed has the lowest validation loss: %s" % chosen)
        main = next(t for title, t in tables.items() if title.startswith("Table 6"))
        if seeds is not None and chosen:
            best_row = next(row for row in seeds["rows"] if row["name"] == "CLIP (1desc) (seed %d)" % chosen["seed"])
            check(main["rows"][0]["values"] == best_row["values"], "the configuration's row is the chosen seed's")
        for seed in ("1", "2"):
            check(os.path.exists(os.path.join(out, "1desc", "seed-" + seed, "best.safetensors")), "each seed trains into its own folder")
        per_manipulation = next((t for title, t in tables.items() if title.startswith("AUC % per manipulation")), None)
        check(per_manipulation is not None and "FaceSwap Prec" in per_manipulation["columns"]
              and all(v is None or 0 <= v <= 100 for row in per_manipulation["rows"] for v in row["values"]),
              "the per-manipulation table has Table 13's precision columns")
    check(run(experiment, "full", "--model", model, "--train", train, "--test", test, "--out", out, "--seeds", "1,x", *tiny).returncode == 2,
          "--seeds 1,x: exit 2")

    # --device / --precision: float16 is a GPU's alone; CUDA refused in a build without it.
    for command in (["zero-shot", "--test", test], ["top-k", "--test", test, "--k", "1"]):
        ran = run(experiment, *command, "--model", model, "--out", os.path.join(scratch, "dev"), "--device", "cpu", "--precision", "float32", "--quiet")
        check(ran.returncode == 0, "%s --device cpu exits 0: %s" % (command[0], ran.stderr[-300:]))
        refused = run(experiment, *command, "--model", model, "--out", os.path.join(scratch, "dev"), "--precision", "float16", "--quiet")
        check(refused.returncode == 2 and "--device cuda" in refused.stderr, "%s --precision float16 on the CPU: exit 2" % command[0])
        unknown = run(experiment, *command, "--model", model, "--out", os.path.join(scratch, "dev"), "--device", "tpu", "--quiet")
        check(unknown.returncode == 2 and "tpu" in unknown.stderr, "%s --device tpu: exit 2 naming it" % command[0])
    for command in ("eval", "zero-shot"):
        base = [command, "--model", model, "--data", test, "--descriptions", "1desc", "--out", os.path.join(scratch, "eval")]
        check(run(clipft, *base, "--device", "cpu", "--quiet").returncode == 0, "clipft %s --device cpu exits 0" % command)
        refused = run(clipft, *base, "--precision", "float16", "--quiet")
        check(refused.returncode == 2 and "--device cuda" in refused.stderr, "clipft %s --precision float16 on the CPU: exit 2" % command)

    # Tables 1 and 2: counts per dataset, split, class and manipulation, from manifests.
    lists = os.path.join(scratch, "lists")
    os.makedirs(lists)
    for split, rows in {"train": [("real", ""), ("real", ""), ("fake", "Deepfakes"), ("fake", "FaceSwap")], "test": [("real", ""), ("fake", "Deepfakes")]}.items():
        with open(os.path.join(lists, split + ".csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "label", "subset", "video"])
            for i, (label, subset) in enumerate(rows):
                writer.writerow(["v%d.mp4" % i, label, subset, "v%d" % i])
    counted = run(experiment, "datasets", "--dataset", "FF++=" + lists, "synth=" + train, "--out", os.path.join(scratch, "tables"))
    check(counted.returncode == 0, "datasets exits 0: " + counted.stderr)
    if counted.returncode == 0:
        table = json.load(open(os.path.join(scratch, "tables", "results.json")))["tables"][0]
        check(table["columns"] == ["FF++ train", "FF++ test", "synth all"], "datasets: a column per dataset and split: %s" % table["columns"])
        values = {row["name"].strip(): row["values"] for row in table["rows"]}
        check(values.get("Real") == [2, 1, 12] and values.get("Fake") == [2, 1, 12] and values.get("Deepfakes") == [1, 1, 0]
              and values.get("SelfBlended") == [0, 0, 6], "datasets: counts per class and manipulation: %s" % values)

finish("experiment protocol")
