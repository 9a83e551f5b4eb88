"""clipft features, probe, interpolate, eval --probe and clipft-experiment wise-ft / probe on a tiny
generated dataset and the tiny fixture model.

Usage: test_heads.py CLIPFT CLIPFT_EXPERIMENT SHARED_DIR. Standard library only. scikit-learn's
numbers come from tests/references/heads.json (made by tests/references/make_heads_references.py).
Checks: features rows unit-norm and equal to the normalised `clipft encode` embeddings; re-runs and
interrupted runs reuse rows; the CLI's logistic probe against scikit-learn; eval --probe scores equal
the probe's formula; the zero-shot head reproduces zero-shot scoring; interpolate's alpha = 0 bit for
bit across layouts, probes interpolated exactly, mismatches and broken files refused with nothing
written; the WiSE-FT and UnivFD experiments print their tables.
"""
import csv
import json
import math
import os
import shutil
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, largest_difference, last_json, read_safetensors, require_shared, rows, run, synth  # noqa: E402

clipft, experiment, shared = sys.argv[1], sys.argv[2], sys.argv[3]
model = os.path.join(shared, "fixtures", "tiny-a")
references = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "references", "heads.json")


def write_safetensors(path, tensors, metadata):
    """tensors: {name: (dtype 'F32'|'I64', shape, values)}."""
    header, body = {"__metadata__": metadata}, b""
    for name, (dtype, shape, values) in sorted(tensors.items()):
        data = struct.pack("<%d%s" % (len(values), {"F32": "f", "I64": "q"}[dtype]), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


def softmax(z):
    top = max(z)
    e = [math.exp(v - top) for v in z]
    return [v / sum(e) for v in e]


def read_scores(out):
    with open(os.path.join(out, "scores.csv"), newline="") as f:
        return {row["path"]: float(row["score"]) for row in csv.DictReader(f)}


require_shared(model)

with tempfile.TemporaryDirectory() as scratch:
    data, test = os.path.join(scratch, "data"), os.path.join(scratch, "test")
    synth(clipft, data, seed=1)
    synth(clipft, test, seed=2)

    # ---- features: unit rows equal to clipft encode's normalised embeddings, the CSV beside them
    features = os.path.join(scratch, "train.safetensors")
    result = run(clipft, "features", "--model", model, "--data", data, "--out", features, "--batch", "5", "--quiet")
    check(result.returncode == 0, "features exits 0: " + result.stderr[-600:])
    line = last_json(result)
    check(line.get("rows") == 24 and line.get("encoded") == 24 and line.get("reused") == 0, "features reports its rows: %s" % line)
    tensors = read_safetensors(features)
    metadata = tensors.metadata
    check(tensors["features"][0] == "F32" and tensors["features"][1] == [24, 32], "features [24, 32] F32: %s" % tensors["features"][1])
    check(tensors["labels"][0] == "I64" and tensors["labels"][1] == [24], "labels [24] I64")
    check(metadata.get("classes") == "real,fake" and len(metadata.get("model_hash", "")) == 16, "features metadata: classes, model_hash")
    feature_rows = rows(tensors["features"][2], 32)
    check(all(abs(math.sqrt(sum(v * v for v in row)) - 1) < 1e-5 for row in feature_rows), "features rows are unit-norm")
    with open(os.path.join(scratch, "train.csv"), newline="") as f:
        table = list(csv.DictReader(f))
    check(len(table) == 24 and list(table[0].keys()) == ["path", "label", "subset", "video"], "train.csv: path,label,subset,video")
    check(all(os.path.isabs(row["path"]) and os.path.exists(row["path"]) for row in table), "train.csv holds absolute paths")
    check([int(row["label"]) for row in table] == list(tensors["labels"][2]), "train.csv labels are the labels tensor's")
    check(all((row["label"] == "1") == ("/fake/" in row["path"]) for row in table), "label 1 = fake (--classes real,fake)")
    encoded = os.path.join(scratch, "encoded.safetensors")
    result = run(clipft, "encode", "--model", model, "--images", *[row["path"] for row in table], "--out", encoded)
    check(result.returncode == 0, "encode exits 0: " + result.stderr[-400:])
    embeds = rows(read_safetensors(encoded)["image_embeds"][2], 32)
    worst = 0.0
    for row, embed in zip(feature_rows, embeds):
        norm = math.sqrt(sum(v * v for v in embed))
        worst = max(worst, max(abs(a - b / norm) for a, b in zip(row, embed)))
    check(worst <= 1e-5, "features equal the normalised encode embeddings (largest difference %g)" % worst)

    # ---- re-runs: everything reused; a touched image re-encoded; an interrupted run continued
    result = run(clipft, "features", "--model", model, "--data", data, "--out", features, "--quiet")
    line = last_json(result)
    check(line.get("reused") == 24 and line.get("encoded") == 0, "a repeated run reuses every row: %s" % line)
    check(read_safetensors(features)["features"][2] == tuple(tensors["features"][2]), "reused rows are the same values")
    os.utime(table[3]["path"], (1e9, 1e9))
    line = last_json(run(clipft, "features", "--model", model, "--data", data, "--out", features, "--quiet"))
    check(line.get("reused") == 23 and line.get("encoded") == 1, "a changed image is encoded again: %s" % line)
    broken_data = os.path.join(scratch, "broken-data")
    shutil.copytree(data, broken_data)
    with open(os.path.join(broken_data, "real", "zzz.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n not an image")
    partial_run = os.path.join(scratch, "partial.safetensors")
    result = run(clipft, "features", "--model", model, "--data", broken_data, "--out", partial_run, "--batch", "2", "--quiet")
    check(result.returncode == 1 and "zzz.png" in result.stderr, "a broken image stops features with exit 1 naming it: " + result.stderr[-300:])
    check(os.path.exists(os.path.join(scratch, "partial.partial.safetensors")) and not os.path.exists(partial_run),
          "the interrupted run leaves its rows in partial.partial.safetensors and no output")
    os.remove(os.path.join(broken_data, "real", "zzz.png"))
    line = last_json(run(clipft, "features", "--model", model, "--data", broken_data, "--out", partial_run, "--batch", "2", "--quiet"))
    check(line.get("rows") == 24 and line.get("reused", 0) >= 10 and line.get("encoded", 0) >= 1,
          "the next run continues where the interrupted one stopped: %s" % line)
    check(not os.path.exists(os.path.join(scratch, "partial.partial.safetensors")), "the partial file is removed when done")
    other_model = run(clipft, "features", "--model", os.path.join(model, "openai.safetensors"), "--data", data,
                      "--out", os.path.join(scratch, "train.safetensors"), "--quiet")
    check(last_json(other_model).get("reused") == 0, "rows of another model file (another hash) are not reused")
    run(clipft, "features", "--model", model, "--data", data, "--out", features, "--quiet")
    # bfloat16 products: rows within bfloat16's reach of float32's, kept apart from them in the cache
    float_rows = rows(read_safetensors(features)["features"][2], 32)
    in_bfloat16 = os.path.join(scratch, "train-bfloat16.safetensors")
    shutil.copy(features, in_bfloat16)
    shutil.copy(features[:-len(".safetensors")] + ".csv", in_bfloat16[:-len(".safetensors")] + ".csv")
    line = last_json(run(clipft, "features", "--model", model, "--data", data, "--out", in_bfloat16, "--precision",
                         "bfloat16", "--quiet"))
    check(line.get("encoded") == 24 and line.get("reused") == 0 and line.get("model_hash", "").endswith(":bfloat16"),
          "bfloat16 features reuse no float32 row and name their precision in model_hash: %s" % line)
    bfloat16_rows = rows(read_safetensors(in_bfloat16)["features"][2], 32)
    worst = min(sum(a * b for a, b in zip(x, y)) for x, y in zip(float_rows, bfloat16_rows))
    check(worst >= 0.999, "bfloat16 feature rows: cosine %.6f to float32's (need >= 0.999)" % worst)
    line = last_json(run(clipft, "features", "--model", model, "--data", data, "--out", in_bfloat16, "--precision",
                         "bfloat16", "--quiet"))
    check(line.get("reused") == 24, "a repeated bfloat16 run reuses its own rows: %s" % line)
    refused = run(clipft, "features", "--model", model, "--data", data, "--out", in_bfloat16, "--precision", "float16")
    check(refused.returncode == 2 and "--device cuda" in refused.stderr,
          "features --precision float16 is a usage error on the CPU: " + refused.stderr[-300:])

    # ---- probe --method logistic against scikit-learn (features written from the reference file)
    cases = json.load(open(references))["cases"]
    for case in cases:
        if case["classes"] != 2:
            continue
        given = os.path.join(scratch, "reference.safetensors")
        write_safetensors(given, {"features": ("F32", [len(case["train_labels"]), case["width"]], case["train_features"]),
                                  "labels": ("I64", [len(case["train_labels"])], case["train_labels"])}, {"classes": "real,fake"})
        out = os.path.join(scratch, "reference-probe.safetensors")
        result = run(clipft, "probe", "--features", given, "--out", out, "--C", str(case["C"]), "--quiet")
        check(result.returncode == 0, "probe exits 0 on %s: %s" % (case["name"], result.stderr[-300:]))
        probe = read_safetensors(out)
        probe_metadata = probe.metadata
        w, b = rows(probe["probe.weight"][2], case["width"]), probe["probe.bias"][2]
        worst = 0.0
        for x, expected in zip(rows(case["test_features"], case["width"]), rows(case["logistic_test_probabilities"], 2)):
            p = softmax([sum(a * c for a, c in zip(wk, x)) + bk for wk, bk in zip(w, b)])
            worst = max(worst, abs(p[1] - expected[1]))
        check(worst <= 2e-3, "%s: probabilities within 2e-3 of scikit-learn's (largest difference %g)" % (case["name"], worst))
        check(probe_metadata.get("method") == "logistic" and float(probe_metadata.get("C")) == case["C"]
              and probe_metadata.get("classes") == "real,fake", "probe metadata: method, C, classes: %s" % probe_metadata)

    # ---- probes on the features; eval --probe scores = the probe's formula
    linear = os.path.join(scratch, "linear.safetensors")
    result = run(clipft, "probe", "--features", features, "--out", linear, "--C", "10", "--quiet")
    check(result.returncode == 0 and last_json(result).get("converged") is True, "probe on features exits 0, converged: " + result.stderr[-300:])
    probe = read_safetensors(linear)
    probe_metadata = probe.metadata
    check(probe_metadata.get("model_hash") == metadata.get("model_hash"), "the probe records the model's hash")
    out = os.path.join(scratch, "eval-linear")
    result = run(clipft, "eval", "--model", model, "--probe", linear, "--data", data, "--out", out, "--quiet")
    check(result.returncode == 0, "eval --probe exits 0: " + result.stderr[-400:])
    for name in ["scores.csv", "metrics.json", "roc.svg"]:
        check(os.path.exists(os.path.join(out, name)), "eval --probe writes " + name)
    scores = read_scores(out) if result.returncode == 0 else {}
    w, b = rows(probe["probe.weight"][2], 32), probe["probe.bias"][2]
    worst = 0.0
    for row, x in zip(table, feature_rows):
        expected = softmax([sum(a * c for a, c in zip(wk, x)) + bk for wk, bk in zip(w, b)])[1]
        worst = max(worst, abs(scores.get(row["path"], -1) - expected))
    check(worst <= 1e-4, "eval --probe scores equal softmax(W x + b) of the last class (largest difference %g)" % worst)

    knn = os.path.join(scratch, "knn.safetensors")
    result = run(clipft, "probe", "--features", features, "--out", knn, "--method", "knn", "--k", "5", "--quiet")
    check(result.returncode == 0, "probe --method knn exits 0: " + result.stderr[-300:])
    knn_tensors = read_safetensors(knn)
    knn_metadata = knn_tensors.metadata
    check(knn_metadata.get("k") == "5" and knn_tensors["knn.labels"][2] == tensors["labels"][2], "the kNN probe holds k and the labels")
    out = os.path.join(scratch, "eval-knn")
    result = run(clipft, "eval", "--model", model, "--probe", knn, "--data", test, "--out", out, "--quiet")
    check(result.returncode == 0, "eval --probe (kNN) exits 0: " + result.stderr[-300:])
    test_features = os.path.join(scratch, "test.safetensors")
    run(clipft, "features", "--model", model, "--data", test, "--out", test_features, "--quiet")
    test_rows = rows(read_safetensors(test_features)["features"][2], 32)
    with open(os.path.join(scratch, "test.csv"), newline="") as f:
        test_paths = [row["path"] for row in csv.DictReader(f)]
    scores, agree = read_scores(out) if result.returncode == 0 else {}, 0
    labels = tensors["labels"][2]
    for path, x in zip(test_paths, test_rows):
        similarity = [sum(a * c for a, c in zip(x, row)) for row in feature_rows]
        nearest = sorted(range(len(similarity)), key=lambda i: (-similarity[i], i))[:5]
        agree += abs(scores.get(path, -1) - sum(labels[i] for i in nearest) / 5) < 1e-6
    # Python's similarities are doubles, clipft's float32 (as scikit-learn's on float32 features): a near-tie may differ.
    check(agree >= len(test_paths) - 1, "kNN scores are the share of fakes among the 5 most similar (%d of %d)" % (agree, len(test_paths)))

    # ---- one go (--model --data), --C auto, the zero-shot head
    together = os.path.join(scratch, "together.safetensors")
    result = run(clipft, "probe", "--model", model, "--data", data, "--out", together, "--C", "10", "--quiet")
    check(result.returncode == 0, "probe --model --data exits 0: " + result.stderr[-300:])
    check(os.path.exists(os.path.join(scratch, "together.features.safetensors")), "probe --data keeps the features beside --out")
    if result.returncode == 0:
        a, c = read_safetensors(together)["probe.weight"][2], probe["probe.weight"][2]
        check(largest_difference(a, c) < 1e-5, "probe in one go equals features then probe")
    result = run(clipft, "probe", "--features", features, "--out", os.path.join(scratch, "auto.safetensors"), "--C", "auto", "--quiet")
    line = last_json(result)
    check(result.returncode == 0 and line.get("C") in [t["C"] for t in line.get("C_grid", [])] and len(line.get("C_grid", [])) == 7,
          "--C auto picks C from the grid by validation: %s %s" % (line.get("C"), result.stderr[-300:]))
    zero_shot = os.path.join(scratch, "zero-shot.safetensors")
    result = run(clipft, "probe", "--features", features, "--model", model, "--method", "zero-shot", "--descriptions", "1desc",
                 "--out", zero_shot, "--quiet")
    check(result.returncode == 0, "probe --method zero-shot exits 0: " + result.stderr[-300:])
    out_probe, out_descriptions = os.path.join(scratch, "eval-zs-probe"), os.path.join(scratch, "eval-zs")
    run(clipft, "eval", "--model", model, "--probe", zero_shot, "--data", test, "--out", out_probe, "--quiet")
    run(clipft, "eval", "--model", model, "--descriptions", "1desc", "--data", test, "--out", out_descriptions, "--quiet")
    if os.path.exists(os.path.join(out_probe, "scores.csv")) and os.path.exists(os.path.join(out_descriptions, "scores.csv")):
        a, c = read_scores(out_probe), read_scores(out_descriptions)
        check(max(abs(a[p] - c[p]) for p in c) < 1e-4, "the zero-shot head scores as zero-shot eval with the descriptions")
    else:
        check(False, "eval with the zero-shot head and with 1desc write scores.csv")
    initialised = run(clipft, "probe", "--features", features, "--model", model, "--init", "zero-shot", "--descriptions", "1desc",
                      "--C", "10", "--out", os.path.join(scratch, "init.safetensors"), "--quiet")
    if initialised.returncode == 0:
        a = read_safetensors(os.path.join(scratch, "init.safetensors"))["probe.weight"][2]
        check(largest_difference(a, probe["probe.weight"][2]) < 1e-3, "--init zero-shot reaches the same optimum")
    else:
        check(False, "probe --init zero-shot exits 0: " + initialised.stderr[-300:])

    # ---- interpolate: models across layouts, probes, alpha lists, refusals
    openai = os.path.join(model, "openai.safetensors")
    folder = os.path.join(scratch, "alphas")
    result = run(clipft, "interpolate", "--from", openai, "--to", os.path.join(model, "model.bf16.safetensors"), "--alpha", "0,0.5,...,1",
                 "--out", folder, "--quiet")
    check(result.returncode == 0, "interpolate with an alpha list exits 0: " + result.stderr[-300:])
    check((sorted(os.listdir(folder)) if os.path.isdir(folder) else []) == ["alpha-0.5.safetensors", "alpha-0.safetensors", "alpha-1.safetensors"],
          "writes DIR/alpha-<a>.safetensors")
    single = os.path.join(scratch, "alpha0.safetensors")
    result = run(clipft, "interpolate", "--from", openai, "--to", model, "--alpha", "0", "--out", single, "--quiet")
    check(result.returncode == 0, "interpolate OpenAI file -> HuggingFace folder exits 0: " + result.stderr[-300:])
    if result.returncode == 0:
        a, c = read_safetensors(single), read_safetensors(openai)
        check(a["vision_model.embeddings.class_embedding"][2] == c["visual.class_embedding"][2]
              and a["vision_model.post_layernorm.weight"][2] == c["visual.ln_post.weight"][2],
              "alpha = 0 in the HuggingFace layout holds the OpenAI file's values bit for bit")
        check("text_model.embeddings.position_ids" in a, "the HuggingFace layout keeps its position_ids")
        e1, e2 = os.path.join(scratch, "e1.safetensors"), os.path.join(scratch, "e2.safetensors")
        first, second = table[0]["path"], table[13]["path"]
        run(clipft, "encode", "--model", single, "--images", first, second, "--out", e1)
        run(clipft, "encode", "--model", openai, "--images", first, second, "--out", e2)
        check(read_safetensors(e1)["image_embeds"][2] == read_safetensors(e2)["image_embeds"][2], "the written file loads and encodes as the model")
    mixed = os.path.join(scratch, "mixed.safetensors")
    result = run(clipft, "interpolate", "--from", zero_shot, "--to", linear, "--alpha", "0.25", "--out", mixed, "--quiet")
    check(result.returncode == 0, "interpolate of two probes exits 0: " + result.stderr[-300:])
    if result.returncode == 0:
        a, z, l = (read_safetensors(p)["probe.weight"][2] for p in (mixed, zero_shot, linear))
        check(all(abs(m - (0.75 * x + 0.25 * y)) <= 1e-6 * max(1e-6, abs(0.75 * x + 0.25 * y)) + 1e-7 for m, x, y in zip(a, z, l)),
              "probes interpolate as 0.75 from + 0.25 to")
    refused = os.path.join(scratch, "refused.safetensors")
    result = run(clipft, "interpolate", "--from", openai, "--to", linear, "--alpha", "0.5", "--out", refused)
    check(result.returncode == 1 and "one kind" in result.stderr and not os.path.exists(refused), "a model and a probe are refused: " + result.stderr)
    result = run(clipft, "interpolate", "--from", zero_shot, "--to", knn, "--alpha", "0.5", "--out", refused)
    check(result.returncode == 1 and "kNN" in result.stderr and not os.path.exists(refused), "kNN probes are refused: " + result.stderr)
    with open(openai, "rb") as f:
        head = f.read()
    truncated = os.path.join(scratch, "truncated.safetensors")
    with open(truncated, "wb") as f:
        f.write(head[: len(head) // 3])
    result = run(clipft, "interpolate", "--from", openai, "--to", truncated, "--alpha", "0,1", "--out", os.path.join(scratch, "none"))
    check(result.returncode == 1 and "truncated.safetensors" in result.stderr and not os.path.exists(os.path.join(scratch, "none")),
          "a truncated checkpoint is refused naming it, nothing written: " + result.stderr)
    check(run(clipft, "interpolate", "--from", openai, "--to", openai, "--alpha", "x", "--out", refused).returncode == 2, "a bad --alpha: exit 2")
    check(run(clipft, "interpolate", "--from", openai, "--to", openai, "--alpha", "0,1", "--out", refused).returncode == 2,
          "several alphas into a .safetensors file: exit 2")

    # ---- broken inputs of probe and eval
    with open(features, "rb") as f:
        head = f.read()
    with open(truncated, "wb") as f:
        f.write(head[: len(head) - 40])
    result = run(clipft, "probe", "--features", truncated, "--out", refused)
    check(result.returncode == 1 and "truncated.safetensors" in result.stderr and not os.path.exists(refused),
          "a truncated features file is refused naming it: " + result.stderr)
    result = run(clipft, "probe", "--features", features, "--out", refused, "--method", "knn", "--k", "100")
    check(result.returncode == 1 and "k = 100" in result.stderr, "k above the row count is refused: " + result.stderr)
    check(run(clipft, "probe", "--out", refused).returncode == 2, "probe without features or data: exit 2")
    result = run(clipft, "eval", "--model", model, "--probe", openai, "--data", data, "--out", os.path.join(scratch, "x"))
    check(result.returncode == 1 and "not a probe file" in result.stderr, "eval --probe with a model file is refused: " + result.stderr)
    check(run(clipft, "eval", "--model", model, "--data", data, "--out", os.path.join(scratch, "x")).returncode == 2,
          "eval without --descriptions or --probe: exit 2")

    # ---- experiments: WiSE-FT (alpha 0 = the zero-shot model) and the UnivFD rows
    out = os.path.join(scratch, "wise-ft")
    result = run(experiment, "wise-ft", "--zero-shot", openai, "--fine-tuned", os.path.join(model, "model.bf16.safetensors"),
                 "--alphas", "0:1:0.5", "--test", "heldout=" + test, "--out", out, "--quiet")
    check(result.returncode == 0, "wise-ft exits 0: " + result.stderr[-500:])
    check(all(("WiSE-FT alpha=%s " % a) in result.stdout for a in ["0", "0.5", "1"]), "wise-ft prints a row per alpha")
    check(os.path.exists(os.path.join(out, "wise-ft.svg")) and os.path.exists(os.path.join(out, "results.json")), "wise-ft writes its plot")
    zero = run(clipft, "eval", "--model", openai, "--descriptions", "1desc", "--data", test, "--out", os.path.join(scratch, "zs"), "--quiet")
    auc = last_json(zero).get("auc")
    row = next((line.split() for line in result.stdout.splitlines() if line.startswith("WiSE-FT alpha=0 ")), None)
    check(row is not None and auc is not None and abs(float(row[-1]) - 100 * auc) < 0.006,
          "wise-ft alpha 0 has the zero-shot model's AUC (%s vs %s)" % (row, auc))
    out = os.path.join(scratch, "probe-experiment")
    result = run(experiment, "probe", "--model", model, "--train", data, "--test", "heldout=" + test, "--out", out, "--quiet")
    check(result.returncode == 0, "probe experiment exits 0: " + result.stderr[-500:])
    for name in ["Linear probe (C=1)", "kNN (k=1)", "kNN (k=5)", "kNN (k=20)"]:
        check(any(line.startswith(name + " ") for line in result.stdout.splitlines()), "the probe experiment prints the row " + name)

finish("heads")
