"""PyTorch side of `clipft bench`: the same CLIP towers, inputs and measurement, the same JSON line.

A plain PyTorch CLIP written from the forward equations (OpenAI's layout and parameter names: ViT with a bias-free patch
convolution, class token, positional embedding, ln_pre, pre-LN residual blocks with fused-qkv
attention and QuickGELU MLPs, ln_post on the class token, projection; a causal text transformer with
ln_final, pooling at the first end-of-text token, projection). Only the measured tower is built.
Random weights: N(0, 0.02) except the layer norms (weight 1, bias 0).

Method: --warmup unmeasured forward passes, then the median wall time of --iters forward passes of
one batch under torch.no_grad(), in float32 (--precision bfloat16: under
torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's mixed precision). --what step: one pairwise fine-tuning step instead
(both towers; N images in N/2 (real, fake) pairs with two descriptions; the group contrastive loss;
backward; torch.optim.AdamW on every parameter), as `clipft bench --what step`.

    /usr/bin/python3 bench/clip_torch.py --preset B32|B16|L14|L14@336 --what image|text|step --batch N
        [--threads N] [--iters N] [--warmup N] [--seed S] [--precision float32|bfloat16]

Run it under the environment that bench/clip_vs_torch.sh sets (OPENBLAS_CORETYPE, OMP_NUM_THREADS,
OMP_WAIT_POLICY=PASSIVE).
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when libgomp loads, so before torch

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

END_OF_TEXT = 49407

# The OpenAI shapes, as in clipft's CLIPConfig::preset.
PRESETS = {
    "B32": dict(embed_dim=512, image_size=224, patch_size=32, vision_width=768, vision_layers=12,
                vision_heads=12, text_width=512, text_layers=12, text_heads=8),
    "B16": dict(embed_dim=512, image_size=224, patch_size=16, vision_width=768, vision_layers=12,
                vision_heads=12, text_width=512, text_layers=12, text_heads=8),
    "L14": dict(embed_dim=768, image_size=224, patch_size=14, vision_width=1024, vision_layers=24,
                vision_heads=16, text_width=768, text_layers=12, text_heads=12),
}
PRESETS["L14@336"] = dict(PRESETS["L14"], image_size=336)
CONTEXT_LENGTH, VOCAB_SIZE = 77, 49408


class Attention(nn.Module):
    """Multi-head self-attention with one fused q/k/v projection; heads are contiguous chunks of the
    feature dimension."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)

    def forward(self, x, mask=None):
        batch, length, width = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(width // self.heads)
        if mask is not None:
            scores = scores + mask
        out = torch.matmul(scores.softmax(dim=-1), v)  # [B, H, L, W/H]
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, width))


class MLP(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x):
        x = self.c_fc(x)
        return self.c_proj(x * torch.sigmoid(1.702 * x))  # QuickGELU


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MLP(width)

    def forward(self, x, mask=None):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.ModuleList(Block(width, heads) for _ in range(layers))

    def forward(self, x, mask=None):
        for block in self.resblocks:
            x = block(x, mask)
        return x


class VisionTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        width, patch = c["vision_width"], c["patch_size"]
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(width))
        self.positional_embedding = nn.Parameter(torch.empty((c["image_size"] // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, c["vision_layers"], c["vision_heads"])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.empty(width, c["embed_dim"]))

    def forward(self, pixels):
        x = self.conv1(pixels).flatten(2).transpose(1, 2)  # [N, patches, W], patches in (y, x) order
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)
        return self.ln_post(self.transformer(x)[:, 0]) @ self.proj


class TextTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        width = c["text_width"]
        self.token_embedding = nn.Embedding(VOCAB_SIZE, width)
        self.positional_embedding = nn.Parameter(torch.empty(CONTEXT_LENGTH, width))
        self.transformer = Transformer(width, c["text_layers"], c["text_heads"])
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, c["embed_dim"]))
        self.register_buffer("mask", torch.full((CONTEXT_LENGTH, CONTEXT_LENGTH), float("-inf")).triu(1),
                             persistent=False)

    def forward(self, ids):
        x = self.token_embedding(ids) + self.positional_embedding
        x = self.ln_final(self.transformer(x, self.mask))
        return x[torch.arange(x.shape[0]), ids.argmax(dim=-1)] @ self.text_projection  # first 49407


class CLIP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.visual = VisionTower(c)
        self.text = TextTower(c)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def group_loss(self, pixels, ids):
        """pixels [G, k, 3, R, R]; ids [k, L]: slot j of every group pairs with description j."""
        groups, k = pixels.shape[:2]
        images = F.normalize(self.visual(pixels.flatten(0, 1)), dim=-1).view(groups, k, -1)
        texts = F.normalize(self.text(ids), dim=-1)
        logits = self.logit_scale.exp() * images @ texts.t()  # [G, k, k]
        targets = torch.arange(k).repeat(groups)
        return (F.cross_entropy(logits.flatten(0, 1), targets) +
                F.cross_entropy(logits.transpose(1, 2).flatten(0, 1), targets)) / 2


def randomize(module):
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if "ln_" not in name:  # layer norms keep weight 1, bias 0
                parameter.normal_(0.0, 0.02)


def random_token_ids(batch, generator):
    ids = torch.randint(0, END_OF_TEXT - 1, (batch, CONTEXT_LENGTH), generator=generator)
    ids[torch.arange(batch), torch.randint(0, CONTEXT_LENGTH, (batch,), generator=generator)] = END_OF_TEXT
    return ids


def median_seconds(run, warmup, iterations):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def step_seconds(config, batch, generator, warmup, iterations):
    model = CLIP(config)
    randomize(model)
    size = config["image_size"]
    pixels = torch.randn(batch // 2, 2, 3, size, size, generator=generator)
    ids = random_token_ids(2, generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.2)

    def step():
        model.group_loss(pixels, ids).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return median_seconds(step, warmup, iterations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS))
    parser.add_argument("--what", required=True, choices=["image", "text", "step"])
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                        help="bfloat16: run under torch.autocast('cpu', dtype=torch.bfloat16)")
    args = parser.parse_args()
    if args.batch < 1 or args.iters < 1 or args.warmup < 0:
        parser.error("--batch and --iters must be at least 1 and --warmup at least 0")
    if args.what == "step" and args.batch % 2:
        parser.error("--what step needs an even --batch (images in real/fake pairs)")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    config = PRESETS[args.preset]
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bfloat16")
    with autocast:
        median = measure(args, config, generator)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps({"what": args.what, "preset": args.preset, "batch": args.batch,
                      "threads": torch.get_num_threads(), "precision": args.precision,
                      "items_per_s": round(args.batch / median, 4),
                      "median_s": round(median, 6), "peak_rss_mb": round(peak_rss_mb, 1)}))
    return 0


def measure(args, config, generator):
    """Median seconds of one step or one encoding of a batch."""
    if args.what == "step":
        return step_seconds(config, args.batch, generator, args.warmup, args.iters)
    else:
        if args.what == "image":
            tower = VisionTower(config)
            size = config["image_size"]
            inputs = torch.randn(args.batch, 3, size, size, generator=generator)
        else:
            tower = TextTower(config)
            inputs = random_token_ids(args.batch, generator)
        randomize(tower)
        tower.eval()
        with torch.no_grad():
            median = median_seconds(lambda: tower(inputs), args.warmup, args.iters)
    return median


if __name__ == "__main__":
    sys.exit(main())
