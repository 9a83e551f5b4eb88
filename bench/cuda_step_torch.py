"""PyTorch eager side of bench/cuda_step.cu: the same model, step and measurement on the same GPU, the same JSON line.

The model is bench/clip_torch.py's plain PyTorch CLIP (OpenAI's layout, eager attention), moved to
the GPU. --what step: one pairwise fine-tuning step (both towers; N images in N/2 (real, fake)
pairs with two descriptions; the group contrastive loss; backward; torch.optim.AdamW on every
parameter), under torch.autocast(bfloat16) with float32 weights and optimizer state for
--precision bf16. --what image: image encoding under torch.no_grad(). Median wall time of --iters
runs after --warmup, each followed by torch.cuda.synchronize(); peak memory is
torch.cuda.max_memory_allocated() from after the model is on the GPU.

    python3 bench/cuda_step_torch.py [--preset L14] [--what step|image] [--batch N]
        [--precision bf16|fp32] [--iters N] [--warmup N] [--seed S]
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from clip_torch import CLIP, PRESETS, randomize, random_token_ids  # noqa: E402


def group_loss(model, pixels, ids):
    """clip_torch.CLIP.group_loss with its targets made on the logits' device."""
    groups, k = pixels.shape[:2]
    images = F.normalize(model.visual(pixels.flatten(0, 1)), dim=-1).view(groups, k, -1)
    texts = F.normalize(model.text(ids), dim=-1)
    logits = model.logit_scale.exp() * images @ texts.t()
    targets = torch.arange(k, device=logits.device).repeat(groups)
    return (F.cross_entropy(logits.flatten(0, 1), targets) +
            F.cross_entropy(logits.transpose(1, 2).flatten(0, 1), targets)) / 2


def median_seconds(run, warmup, iterations):
    for _ in range(warmup):
        run()
    torch.cuda.synchronize()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="L14", choices=sorted(PRESETS))
    parser.add_argument("--what", default="step", choices=["step", "image"])
    parser.add_argument("--batch", type=int)
    parser.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    batch = args.batch or (64 if args.what == "image" else 16)
    if batch < 1 or args.iters < 1 or args.warmup < 0:
        parser.error("--batch and --iters must be at least 1 and --warmup at least 0")
    if args.what == "step" and batch % 2:
        parser.error("--what step needs an even --batch (images in real/fake pairs)")
    if not torch.cuda.is_available():
        parser.error("no CUDA device")

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    config = PRESETS[args.preset]
    device = torch.device("cuda", 0)
    model = CLIP(config)
    randomize(model)
    model.to(device)
    size = config["image_size"]

    def autocast():
        if args.precision == "bf16":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats(device)
    if args.what == "step":
        pixels = torch.randn(batch // 2, 2, 3, size, size, generator=generator).to(device)
        ids = random_token_ids(2, generator).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.2)

        def step():
            with autocast():
                loss = group_loss(model, pixels, ids)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        median = median_seconds(step, args.warmup, args.iters)
    else:
        pixels = torch.randn(batch, 3, size, size, generator=generator).to(device)
        model.eval()

        def encode():
            with torch.no_grad(), autocast():
                model.visual(pixels)

        median = median_seconds(encode, args.warmup, args.iters)
    print(json.dumps({"implementation": "pytorch", "torch": torch.__version__, "what": args.what,
                      "preset": args.preset, "batch": batch, "precision": args.precision,
                      "device": torch.cuda.get_device_name(device), "items_per_s": round(batch / median, 4),
                      "median_s": round(median, 6),
                      "peak_allocated_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1),
                      "reserved_mb": round(torch.cuda.max_memory_reserved(device) / 2**20, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
