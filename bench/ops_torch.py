"""PyTorch side of bench/ops.cpp: the same cases, by the same names, measured by the same method;
with --clipft, also the driver that runs both sides case by case.

Method: warm up, then repetitions that each run enough iterations to fill a minimum time (as Google
Benchmark does); a case's time is the median over repetitions of the mean wall time per iteration.
  forward           the op under torch.no_grad()
  forward+backward  the op on inputs and parameters that require gradients, then backward from
                    sum(output * fixed random weights); gradients are dropped after each iteration

Run it with the Python that has PyTorch (Debian's /usr/bin/python3) and the environment that
bench/run_all.sh sets (OPENBLAS_CORETYPE, CLIPFT_NUM_THREADS, OMP_WAIT_POLICY=PASSIVE).

    /usr/bin/python3 bench/ops_torch.py --out ops.json [--clipft build/bench/bench_ops] [--rounds N]
        [--filter REGEX] [--warmup S] [--min-time S] [--repetitions N]

With --clipft, each case is measured on both sides back to back (bench_ops run with a filter for
that one case), `--rounds` times, alternating which side goes first; each side keeps its lowest
median. On a shared machine other load only ever adds time, so the lowest is the fairest estimate.
"""
import argparse
import ctypes
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when libgomp loads, so before torch

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


class Case:
    def __init__(self, name, leaves, forward):
        self.name, self.leaves, self.forward = name, leaves, forward


def shape_name(shape):
    return "x".join(str(extent) for extent in shape)


def leaf(tensor):
    return tensor.requires_grad_()


def randn(shape, std=1.0):
    return torch.randn(shape) * std


def unary_case(op, shape, spread, f):
    x = leaf(randn(shape, spread))
    return Case(f"{op}/{shape_name(shape)}", [x], lambda: f(x))


def layer_norm_case(shape):
    width = shape[-1]
    x, weight, bias = leaf(randn(shape)), leaf(torch.ones(width)), leaf(torch.zeros(width))
    return Case(f"layer_norm/{shape_name(shape)}", [x, weight, bias],
                lambda: F.layer_norm(x, (width,), weight, bias, 1e-5))


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)  # CLIP's QuickGELU module


class Block:
    """A CLIP ResidualAttentionBlock on batch-first tokens [B, L, width], with nn.MultiheadAttention's
    math spelled out (torch 1.13 has no F.scaled_dot_product_attention): fused in_proj by F.linear,
    q scaled, softmax(q k^T + mask) v, out_proj; then the QuickGELU MLP of 4x the width."""

    def __init__(self, width, heads, length, causal):
        def weight(*shape):
            return leaf(randn(shape, 0.02))

        self.heads = heads
        self.ln_1_weight, self.ln_1_bias = leaf(torch.ones(width)), leaf(torch.zeros(width))
        self.in_proj_weight, self.in_proj_bias = weight(3 * width, width), weight(3 * width)
        self.out_proj_weight, self.out_proj_bias = weight(width, width), weight(width)
        self.ln_2_weight, self.ln_2_bias = leaf(torch.ones(width)), leaf(torch.zeros(width))
        self.c_fc_weight, self.c_fc_bias = weight(4 * width, width), weight(4 * width)
        self.c_proj_weight, self.c_proj_bias = weight(width, 4 * width), weight(width)
        self.mask = torch.full((length, length), float("-inf")).triu_(1) if causal else None

    def parameters(self):
        return [self.ln_1_weight, self.ln_1_bias, self.in_proj_weight, self.in_proj_bias, self.out_proj_weight,
                self.out_proj_bias, self.ln_2_weight, self.ln_2_bias, self.c_fc_weight, self.c_fc_bias,
                self.c_proj_weight, self.c_proj_bias]

    def __call__(self, x):
        batch, length, width = x.shape
        head_dim = width // self.heads
        h = F.layer_norm(x, (width,), self.ln_1_weight, self.ln_1_bias, 1e-5)
        qkv = F.linear(h, self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.reshape(batch, length, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(q * (1.0 / math.sqrt(head_dim)), k.transpose(-2, -1))
        if self.mask is not None:
            scores = scores + self.mask
        attended = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).reshape(batch, length, width)
        h = x + F.linear(attended, self.out_proj_weight, self.out_proj_bias)
        hidden = quick_gelu(F.linear(F.layer_norm(h, (width,), self.ln_2_weight, self.ln_2_bias, 1e-5),
                                     self.c_fc_weight, self.c_fc_bias))
        return h + F.linear(hidden, self.c_proj_weight, self.c_proj_bias)


def block_case(op, batch, length, width, heads, causal):
    block = Block(width, heads, length, causal)
    x = leaf(randn((batch, length, width)))
    return Case(f"{op}/{shape_name((batch, length, width))}h{heads}", [x] + block.parameters(), lambda: block(x))


def causal_attention_case():
    q, k, v = (leaf(randn((8, 8, 77, 64))) for _ in range(3))
    mask = torch.full((77, 77), float("-inf")).triu(1)

    def attention():
        scores = torch.matmul(q * (1.0 / math.sqrt(64)), k.transpose(-2, -1)) + mask
        return torch.matmul(torch.softmax(scores, dim=-1), v)

    return Case("causal_attention/8x8x77x64", [q, k, v], attention)


def mlp_input_case(op, rows, width):
    """The MLP's first layer, quick_gelu(x W^T + b); PyTorch has no fused form, so both of clipft's
    names (linear_quick_gelu, linear_quick_gelu_fused) measure the same code here."""
    x, weight, bias = leaf(randn((rows, width))), leaf(randn((4 * width, width), 0.02)), leaf(randn((4 * width,), 0.02))
    return Case(f"{op}/{shape_name((rows, width, 4 * width))}", [x, weight, bias],
                lambda: quick_gelu(F.linear(x, weight, bias)))


def cases():
    all_cases = [layer_norm_case(shape) for shape in [(400, 768), (8 * 77, 512), (16 * 257, 1024)]]
    all_cases += [unary_case("softmax", shape, 3.0, lambda x: torch.softmax(x, dim=-1))
                  for shape in [(8 * 12 * 77, 77), (16 * 16 * 257, 257)]]
    for shape in [(400, 3072), (16 * 257, 4096)]:
        all_cases.append(unary_case("gelu", shape, 2.0, F.gelu))
        all_cases.append(unary_case("quick_gelu", shape, 2.0, quick_gelu))
    all_cases.append(causal_attention_case())
    all_cases += [mlp_input_case(op, 400, 768) for op in ("linear_quick_gelu", "linear_quick_gelu_fused")]
    all_cases.append(block_case("attention_block", 16, 50, 768, 12, causal=False))  # ViT-B/32 image tower
    all_cases.append(block_case("causal_attention_block", 8, 77, 512, 8, causal=True))  # text tower
    return all_cases


def forward_step(case):
    def step():
        with torch.no_grad():
            case.forward()
    return step


def forward_backward_step(case):
    with torch.no_grad():
        weights = torch.randn(case.forward().shape)

    def step():
        (case.forward() * weights).sum().backward()
        for parameter in case.leaves:
            parameter.grad = None
    return step


def run_batch(step, iterations):
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    return time.perf_counter() - start


def measure(step, warmup, min_time, repetitions):
    """Median over repetitions of the mean seconds per iteration, after `warmup` seconds of warm-up."""
    start = time.perf_counter()
    while True:
        step()
        if time.perf_counter() - start >= warmup:
            break
    # Grow the iteration count until one batch fills min_time, as Google Benchmark does.
    iterations = 1
    while True:
        seconds = run_batch(step, iterations)
        if seconds >= min_time:
            break
        grow = 10.0 if seconds / min_time <= 0.1 else min_time * 1.4 / seconds
        iterations = max(iterations + 1, int(iterations * grow))
    means = [seconds / iterations] + [run_batch(step, iterations) / iterations for _ in range(repetitions - 1)]
    return statistics.median(means)


def openblas_core():
    """The kernel set of the OpenBLAS that torch loaded (DYNAMIC_ARCH picks one at load time)."""
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "libopenblas" in line})
    if not paths:
        return "not loaded"
    library = ctypes.CDLL(paths[0])
    library.openblas_get_corename.restype = ctypes.c_char_p
    return library.openblas_get_corename().decode()


def run_clipft(program, name, args):
    """(median ms, Google Benchmark context) of one bench_ops benchmark, measured by the same method."""
    command = [program, f"--benchmark_filter=^{re.escape(name)}(/real_time)?$",
               f"--benchmark_min_warmup_time={args.warmup}", f"--benchmark_min_time={args.min_time}",
               f"--benchmark_repetitions={args.repetitions}",
               "--benchmark_report_aggregates_only=true", "--benchmark_format=json"]
    data = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    for entry in data["benchmarks"]:
        if entry.get("aggregate_name") == "median":
            return entry["real_time"] * UNIT_TO_MS[entry["time_unit"]], data["context"]
    sys.exit(f"ops_torch.py: {program} reported no median for {name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--clipft", metavar="BENCH_OPS", help="also measure each case with this bench_ops executable")
    parser.add_argument("--filter", default="", help="regular expression on case names (as --benchmark_filter)")
    parser.add_argument("--rounds", type=int, default=1, help="measurements of each case per side; each keeps its best")
    parser.add_argument("--warmup", type=float, default=0.3, help="seconds of warm-up per case")
    parser.add_argument("--min-time", type=float, default=0.2, help="minimum seconds per repetition")
    parser.add_argument("--repetitions", type=int, default=7)
    args = parser.parse_args()

    threads = int(os.environ.get("CLIPFT_NUM_THREADS", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    pattern = re.compile(args.filter)
    clipft_context, results = {}, []
    for case in cases():
        for mode, make_step in [("forward", forward_step), ("forward+backward", forward_backward_step)]:
            name = f"{case.name}/{mode}"
            if not pattern.search(name):
                continue
            step = make_step(case)
            result = {"name": name, "torch_ms": [], "clipft_ms": []}
            for round_index in range(args.rounds):
                # With --clipft the two sides run back to back, each going first in every other
                # round, so a change in the machine's load between them is short-lived and favours
                # neither.
                for side in ["clipft", "torch"] if round_index % 2 == 0 else ["torch", "clipft"]:
                    if side == "torch":
                        result["torch_ms"].append(measure(step, args.warmup, args.min_time, args.repetitions) * 1e3)
                    elif args.clipft:
                        median_ms, clipft_context = run_clipft(args.clipft, name, args)
                        result["clipft_ms"].append(median_ms)
            results.append(result)
            line = f"{name:<54} torch {min(result['torch_ms']):9.3f} ms"
            if args.clipft:
                clipft_ms = min(result["clipft_ms"])
                line += f"   clipft {clipft_ms:9.3f} ms   torch/clipft {min(result['torch_ms']) / clipft_ms:5.2f}"
            print(line, flush=True)

    context = {"torch": torch.__version__, "threads": torch.get_num_threads(), "openblas_core": openblas_core(),
               "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "python": platform.python_version(),
               "warmup_s": args.warmup, "min_time_s": args.min_time, "repetitions": args.repetitions,
               "rounds": args.rounds, "clipft": clipft_context}
    with open(args.out, "w") as out:
        json.dump({"context": context, "benchmarks": results}, out, indent=1)


if __name__ == "__main__":
    main()
