"""clipft finetune --method lora|svd (and full), clipft merge and --adapter, on tiny-a and a tiny
generated dataset: trainable_parameters, what changes in best.safetensors, the adapter file, encode
with the adapter equal to encode of the merged checkpoint, --resume bit for bit (with LoRA dropout
too), --svd-orthogonality, and a run that stops before its first validation.

Usage: test_peft.py CLIPFT_EXECUTABLE SHARED_DIR. Standard library only.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, finish, largest_difference, last_json, read_safetensors, require_shared, runner, synth  # noqa: E402

clipft, shared = sys.argv[1], sys.argv[2]
tiny = os.path.join(shared, "fixtures", "tiny-a")
run = runner(clipft)
require_shared(tiny)

base = read_safetensors(os.path.join(tiny, "openai.safetensors"))
with tempfile.TemporaryDirectory() as scratch:
    data = os.path.join(scratch, "data")
    synth(clipft, data, seed=3)
    common = ["--model", tiny, "--data", data, "--descriptions", "1desc", "--batch", "4", "--lr", "1e-2", "--schedule", "constant",
              "--validation-fraction", "0.3", "--batches-per-epoch", "20", "--quiet", "--threads", "1"]

    # LoRA on q and v, rank 2, 6 updates: fewer than an epoch, so the run validates when it ends.
    lora_dir = os.path.join(scratch, "lora")
    lora = run("finetune", *common, "--out", lora_dir, "--method", "lora", "--rank", "2", "--lora-alpha", "3", "--max-steps", "6")
    check(lora.returncode == 0, "finetune --method lora exits 0: " + lora.stderr[-500:])
    if lora.returncode == 0:
        summary = last_json(lora)
        # 4 blocks (2 per tower), q and v 64 -> 64 each: 2 * (64 + 64) per target.
        check(summary["trainable_parameters"] == 4 * 2 * 2 * (64 + 64), "LoRA trains sum R(in+out) parameters: %s" % summary)
        check(summary["steps"] == 6 and summary["best_weights"] and os.path.exists(summary["best_weights"]),
              "a run stopping before its first validation validates at its end and keeps best weights: %s" % summary)
        check(summary["adapter"] == os.path.join(lora_dir, "adapter.safetensors"), "the JSON names the adapter file")
        adapter = read_safetensors(os.path.join(lora_dir, "adapter.safetensors"))
        metadata = adapter.metadata
        check(metadata.get("method") == "lora" and metadata.get("rank") == "2" and float(metadata.get("lora_alpha")) == 3
              and metadata.get("targets") == "q,v" and len(metadata.get("base_model_hash", "")) == 16,
              "the adapter file's metadata: %s" % metadata)
        check(len(adapter) == 16 and "vision_model.encoder.layers.0.self_attn.q_proj.weight.lora_A" in adapter
              and adapter["text_model.encoder.layers.1.self_attn.v_proj.weight.lora_B"].shape == [64, 2],
              "the adapter file holds lora_A and lora_B under HuggingFace names: %s" % sorted(adapter)[:4])
        best = read_safetensors(summary["best_weights"])
        check(sorted(best) == sorted(base), "best.safetensors is a plain checkpoint of the base's tensors")
        for name, tensor in base.items():
            if not name.endswith("attn.in_proj_weight"):
                check(best[name].values == tensor.values, "a base tensor outside the adapters is unchanged, bit for bit: " + name)
        # Each q/v change equals (alpha/R)·B·A of the adapter file; k's rows are unchanged.
        for tower, prefix, hf in (("vision", "visual.transformer.resblocks.", "vision_model.encoder.layers."),
                                  ("text", "transformer.resblocks.", "text_model.encoder.layers.")):
            for block in range(2):
                name = prefix + str(block) + ".attn.in_proj_weight"
                for projection, which in ((0, "q"), (1, "k"), (2, "v")):
                    rows = range(projection * 64, (projection + 1) * 64)
                    change = [best[name].values[r * 64 + c] - base[name].values[r * 64 + c] for r in rows for c in range(64)]
                    if which == "k":
                        check(max(map(abs, change)) == 0, "k's rows of %s are unchanged" % name)
                        continue
                    key = hf + str(block) + ".self_attn." + which + "_proj.weight"
                    a, b = adapter[key + ".lora_A"].values, adapter[key + ".lora_B"].values
                    expected = [1.5 * sum(b[r * 2 + j] * a[j * 64 + c] for j in range(2)) for r in range(64) for c in range(64)]
                    check(max(map(abs, expected)) > 1e-4, "the adapter of %s trained" % key)
                    check(largest_difference(change, expected) <= 1e-6, "the merged change of %s is (alpha/R)·B·A" % key)

        # encode --adapter (unmerged) equals encode of the merged checkpoint; merge writes the same weights.
        inputs = os.path.join(tiny, "inputs.safetensors")
        unmerged, merged = os.path.join(scratch, "unmerged.safetensors"), os.path.join(scratch, "merged.safetensors")
        first = run("encode", "--model", tiny, "--adapter", os.path.join(lora_dir, "adapter.safetensors"), "--inputs", inputs, "--out", unmerged)
        second = run("encode", "--model", summary["best_weights"], "--inputs", inputs, "--out", merged)
        check(first.returncode == 0 and second.returncode == 0, "encode with --adapter and of the merged checkpoint: " + first.stderr + second.stderr)
        if first.returncode == 0 and second.returncode == 0:
            a, b = read_safetensors(unmerged), read_safetensors(merged)
            plain = read_safetensors(os.path.join(tiny, "expected.safetensors"))
            for name in ("image_embeds", "text_embeds"):
                check(largest_difference(a[name].values, b[name].values) <= 1e-5, "encode --adapter equals the merged model: " + name)
                check(largest_difference(a[name].values, plain[name].values) > 1e-4, "the adapter changes " + name)
        merged_model = os.path.join(scratch, "merged_model.safetensors")
        merge = run("merge", "--model", tiny, "--adapter", os.path.join(lora_dir, "adapter.safetensors"), "--out", merged_model)
        check(merge.returncode == 0 and last_json(merge)["method"] == "lora", "merge exits 0: " + merge.stderr + merge.stdout)
        if merge.returncode == 0:
            again = read_safetensors(merged_model)
            check(all(largest_difference(again[name].values, best[name].values) <= 1e-6 for name in best), "merge reproduces best.safetensors")
        wrong = run("merge", "--model", summary["best_weights"], "--adapter", os.path.join(lora_dir, "adapter.safetensors"), "--out", merged_model)
        check(wrong.returncode == 1 and "another base model" in wrong.stderr, "an adapter on another base is refused: " + wrong.stderr)
        bad = run("merge", "--model", tiny, "--adapter", os.path.join(tiny, "inputs.safetensors"), "--out", merged_model)
        check(bad.returncode == 1 and "inputs.safetensors" in bad.stderr and "not an adapter file" in bad.stderr,
              "a file that is no adapter file: exit 1 naming it: " + bad.stderr)

    # --resume restores the adapters and their moments bit for bit: 3 + 3 updates = 6 in one go.
    straight, halves = os.path.join(scratch, "straight"), os.path.join(scratch, "halves")
    options = ["--method", "lora", "--rank", "2", "--targets", "q,k,out,fc1", "--towers", "vision"]
    one = run("finetune", *common, *options, "--out", straight, "--max-steps", "6")
    two = run("finetune", *common, *options, "--out", halves, "--max-steps", "3")
    three = run("finetune", *common, *options, "--out", halves, "--max-steps", "6", "--resume")
    check(one.returncode == 0 and two.returncode == 0 and three.returncode == 0, "the resumed LoRA runs exit 0: " + one.stderr + two.stderr + three.stderr)
    if one.returncode == 0 and three.returncode == 0:
        check(last_json(one)["trainable_parameters"] == 2 * 2 * (3 * (64 + 64) + (64 + 256)), "q,k,out,fc1 of the vision tower only")
        a = read_safetensors(os.path.join(straight, "checkpoint.safetensors"))
        b = read_safetensors(os.path.join(halves, "checkpoint.safetensors"))
        adapted = [name for name in a if "adapter." in name]
        check(len(adapted) == 3 * 2 * 4 * 2, "the checkpoint holds the adapters and their moments: %d" % len(adapted))
        check(all(a[name] == b[name] for name in adapted), "a resumed run's adapters and moments equal one run's, bit for bit")

    # LoRA dropout's masks come from a random stream the checkpoint holds: --resume again continues bit for bit.
    straight, halves = os.path.join(scratch, "dropout-straight"), os.path.join(scratch, "dropout-halves")
    options = ["--method", "lora", "--rank", "2", "--lora-dropout", "0.3"]
    one = run("finetune", *common, *options, "--out", straight, "--max-steps", "6")
    two = run("finetune", *common, *options, "--out", halves, "--max-steps", "3")
    three = run("finetune", *common, *options, "--out", halves, "--max-steps", "6", "--resume")
    check(one.returncode == 0 and two.returncode == 0 and three.returncode == 0,
          "the resumed runs with --lora-dropout exit 0: " + one.stderr + two.stderr + three.stderr)
    if one.returncode == 0 and three.returncode == 0:
        a = read_safetensors(os.path.join(straight, "checkpoint.safetensors"))
        b = read_safetensors(os.path.join(halves, "checkpoint.safetensors"))
        adapted = [name for name in a if "adapter." in name]
        check(len(adapted) == 2 * 2 * 4 * 3, "the checkpoint holds the adapters and their moments: %d" % len(adapted))
        check(all(a[name] == b[name] for name in adapted), "with --lora-dropout a resumed run's adapters equal one run's, bit for bit")

    # The SVD residual: R(in + out + 1) per target; a change of rank <= 2R.
    svd_dir = os.path.join(scratch, "svd")
    svd = run("finetune", *common, "--out", svd_dir, "--method", "svd", "--rank", "2", "--max-steps", "2")
    check(svd.returncode == 0, "finetune --method svd exits 0: " + svd.stderr[-500:])
    if svd.returncode == 0:
        check(last_json(svd)["trainable_parameters"] == 4 * 2 * 2 * (64 + 64 + 1), "SVD trains sum R(in+out+1): %s" % last_json(svd))
        adapter = read_safetensors(os.path.join(svd_dir, "adapter.safetensors"))
        metadata = adapter.metadata
        check(metadata.get("method") == "svd" and adapter["vision_model.encoder.layers.0.self_attn.v_proj.weight.svd_S"].shape == [2],
              "the SVD adapter file: svd_U, svd_S, svd_V")
        first = run("encode", "--model", tiny, "--adapter", os.path.join(svd_dir, "adapter.safetensors"), "--inputs",
                    os.path.join(tiny, "inputs.safetensors"), "--out", os.path.join(scratch, "svd_unmerged.safetensors"))
        second = run("encode", "--model", os.path.join(svd_dir, "best.safetensors"), "--inputs", os.path.join(tiny, "inputs.safetensors"),
                     "--out", os.path.join(scratch, "svd_merged.safetensors"))
        if first.returncode == 0 and second.returncode == 0:
            a = read_safetensors(os.path.join(scratch, "svd_unmerged.safetensors"))
            b = read_safetensors(os.path.join(scratch, "svd_merged.safetensors"))
            check(largest_difference(a["image_embeds"].values, b["image_embeds"].values) <= 1e-5, "SVD: encode --adapter equals the merged model")
        else:
            check(False, "encode with the SVD adapter: " + first.stderr + second.stderr)

    # --svd-orthogonality: 0 is the run without it, bit for bit; a weight > 0 trains the residuals otherwise.
    if svd.returncode == 0:
        plain = read_safetensors(os.path.join(svd_dir, "checkpoint.safetensors"))
        for weight in ("0", "10"):
            regularised_dir = os.path.join(scratch, "svd-orthogonality-" + weight)
            regularised = run("finetune", *common, "--out", regularised_dir, "--method", "svd", "--rank", "2", "--max-steps", "2",
                              "--svd-orthogonality", weight)
            check(regularised.returncode == 0, "finetune --svd-orthogonality %s exits 0: %s" % (weight, regularised.stderr[-500:]))
            if regularised.returncode != 0:
                continue
            tensors = read_safetensors(os.path.join(regularised_dir, "checkpoint.safetensors"))
            adapted = [name for name in plain if ".svd_" in name]
            check(sorted(tensors) == sorted(plain) and len(adapted) == 4 * 2 * 3 * 3, "the same checkpoint tensors with --svd-orthogonality")
            if weight == "0":
                check(all(tensors[name] == plain[name] for name in plain), "--svd-orthogonality 0 is the run without it, bit for bit")
            else:
                check(any(largest_difference(tensors[name].values, plain[name].values) > 1e-7 for name in adapted if name.startswith("model.")),
                      "--svd-orthogonality 10 changes what the residuals learn")

    # --method full, stopping before its first validation: best weights exist and the JSON names them.
    full = run("finetune", *common, "--out", os.path.join(scratch, "full"), "--max-steps", "2")
    check(full.returncode == 0 and last_json(full)["best_weights"] and os.path.exists(last_json(full)["best_weights"]),
          "a full run of 2 updates keeps best weights: " + full.stderr[-300:])
    check(full.returncode == 0 and last_json(full)["trainable_parameters"] == sum(len(tensor.values) for tensor in base.values()),
          "full fine-tuning trains every parameter")

    # Learned prompt context: N·width parameters, every CLIP weight unchanged, and the scores change.
    prompt_dir = os.path.join(scratch, "prompt")
    prompt = run("finetune", *common, "--out", prompt_dir, "--method", "prompt", "--prompt-context", "3", "--max-steps", "3")
    check(prompt.returncode == 0, "finetune --method prompt exits 0: " + prompt.stderr[-500:])
    if prompt.returncode == 0:
        summary = last_json(prompt)
        check(summary["trainable_parameters"] == 3 * 64, "prompt trains N·width parameters: %s" % summary)
        prompts = read_safetensors(os.path.join(prompt_dir, "prompts.safetensors"))
        metadata = prompts.metadata
        check(summary["prompts"] == os.path.join(prompt_dir, "prompts.safetensors") and prompts["prompt.context"].shape == [3, 64]
              and metadata.get("method") == "prompt", "prompts.safetensors holds prompt.context [3, 64]: %s" % metadata)
        best = read_safetensors(summary["best_weights"])
        check(sorted(best) == sorted(base) and all(best[name].values == base[name].values for name in base),
              "prompt training leaves every CLIP weight as it was")
        scores = []
        for extra in ([], ["--prompts", os.path.join(prompt_dir, "prompts.safetensors")]):
            out = os.path.join(scratch, "eval%d" % len(extra))
            evaluated = run("eval", "--model", tiny, "--data", data, "--descriptions", "1desc", "--out", out, "--quiet", *extra)
            check(evaluated.returncode == 0, "eval %s exits 0: %s" % (extra, evaluated.stderr[-300:]))
            scores.append(open(os.path.join(out, "scores.csv")).read() if evaluated.returncode == 0 else "")
        check(scores[0] and scores[1] and scores[0] != scores[1], "eval --prompts changes the scores")
    per_class = run("finetune", *common, "--out", os.path.join(scratch, "per-class"), "--method", "prompt", "--prompt-per-class",
                    "--prompt-init", "a photo of a", "--max-steps", "2")
    check(per_class.returncode == 0 and last_json(per_class)["trainable_parameters"] == 2 * 4 * 64,
          "per-class context from the 4 tokens of 'a photo of a': 2 classes x 4 x 64: " + per_class.stderr[-300:] + per_class.stdout)
    if per_class.returncode == 0:
        encoded = run("encode", "--model", tiny, "--prompts", os.path.join(scratch, "per-class", "prompts.safetensors"), "--text",
                      "a face", "--out", os.path.join(scratch, "per-class.safetensors"))
        check(encoded.returncode == 1 and "per-class" in encoded.stderr, "a per-class context cannot encode a free text: " + encoded.stderr)

    # --checkpoint-activations: the same update as without (the loss command's gradients).
    batch = os.path.join(tiny, "train_step.safetensors")
    plain, recomputed = os.path.join(scratch, "plain.safetensors"), os.path.join(scratch, "recomputed.safetensors")
    first = run("loss", "--model", tiny, "--batch", batch, "--out", plain)
    second = run("loss", "--model", tiny, "--batch", batch, "--out", recomputed, "--checkpoint-activations")
    check(first.returncode == 0 and second.returncode == 0, "loss with and without --checkpoint-activations: " + first.stderr + second.stderr)
    if first.returncode == 0 and second.returncode == 0:
        a, b = read_safetensors(plain), read_safetensors(recomputed)
        worst = max(largest_difference(a[name].values, b[name].values) / max(1e-30, max(map(abs, a[name].values))) for name in a if name.startswith("grad."))
        check(worst <= 1e-6 and abs(a["loss"].values[0] - b["loss"].values[0]) <= 1e-6 * abs(a["loss"].values[0]),
              "checkpointed activations: the same loss and gradients within 1e-6 relative (worst %g)" % worst)

    # Usage errors.
    for arguments, what in ((["--method", "dora"], "--method"), (["--method", "lora", "--targets", "q,x"], "unknown target 'x'"),
                            (["--method", "lora", "--rank", "100"], "--rank 100"), (["--method", "lora", "--freeze", "layer-norm"], "--also-train"),
                            (["--method", "lora", "--also-train", "bias"], "unknown word 'bias'"), (["--also-train", "layer-norm"], "--freeze"),
                            (["--method", "lora", "--lora-dropout", "0.1", "--checkpoint-activations"], "--lora-dropout"),
                            (["--method", "lora", "--svd-orthogonality", "0.1"], "--svd-orthogonality"),
                            (["--svd-orthogonality", "0.1"], "--method svd"),
                            (["--method", "svd", "--svd-orthogonality", "-1"], "--svd-orthogonality"),
                            (["--method", "svd", "--svd-orthogonality", "nan"], "--svd-orthogonality"),
                            (["--method", "svd", "--svd-orthogonality", "much"], "--svd-orthogonality")):
        result = run("finetune", *common, "--out", os.path.join(scratch, "bad"), "--max-steps", "1", *arguments)
        check(result.returncode == 2 and what in result.stderr, "finetune %s: exit 2 naming %s: %s" % (arguments, what, result.stderr))

finish("peft")
