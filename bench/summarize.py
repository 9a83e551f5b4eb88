"""Merges the results that bench/run_all.sh collected into one JSON summary and Markdown tables.

    python3 bench/summarize.py RESULTS_DIR

reads RESULTS_DIR/matmul.json (bench_matmul, Google Benchmark JSON) and RESULTS_DIR/ops.json
(bench/ops_torch.py --clipft: per case, each side's median in every round) and writes
RESULTS_DIR/latest.json and RESULTS_DIR/latest.md, printing the latter. A case's time on each side
is the lowest of its per-round medians: on a shared machine, load from elsewhere only ever adds time.
Standard library only, so any Python 3 runs it.
"""
import datetime
import json
import math
import os
import platform
import sys

REAL_TIME_SUFFIX = "/real_time"
UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
CPU_FLAGS_OF_INTEREST = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_bf16"]
MATMUL_PAIRS = [("matmul", "sgemm_nn", "a @ b"), ("linear", "sgemm_nt", "x W^T (W [N, K])"),
                ("matmul_at", "sgemm_tn", "a^T @ b (transposed view)")]


def google_benchmark_medians(path):
    """{case name: median entry} from a Google Benchmark JSON file written with repetitions."""
    with open(path) as f:
        data = json.load(f)
    medians = {}
    for entry in data["benchmarks"]:
        if entry.get("run_type") == "aggregate" and entry.get("aggregate_name") != "median":
            continue
        name = entry["run_name"]
        if name.endswith(REAL_TIME_SUFFIX):
            name = name[: -len(REAL_TIME_SUFFIX)]
        entry = dict(entry, median_ms=entry["real_time"] * UNIT_TO_MS[entry["time_unit"]])
        if entry.get("run_type") == "aggregate" or name not in medians:  # without repetitions: the one run
            medians[name] = entry
    return data.get("context", {}), medians


def cpu_description():
    model, flags = platform.processor(), set()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    return model, [flag for flag in CPU_FLAGS_OF_INTEREST if flag in flags]


def geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def ops_rows(benchmarks):
    rows = []
    for entry in benchmarks:
        op, shape, mode = entry["name"].split("/")
        clipft_ms = min(entry["clipft_ms"]) if entry["clipft_ms"] else None
        torch_ms = min(entry["torch_ms"]) if entry["torch_ms"] else None
        ratio = torch_ms / clipft_ms if clipft_ms and torch_ms else None
        rows.append({"name": entry["name"], "op": op, "shape": shape, "pass": mode, "clipft_ms": clipft_ms,
                     "torch_ms": torch_ms, "torch_over_clipft": ratio,
                     "rounds": {"clipft_ms": entry["clipft_ms"], "torch_ms": entry["torch_ms"]}})
    return rows


def matmul_rows(medians):
    rows = []
    shapes = {name.split("/")[1] for name in medians}
    for shape in sorted(shapes, key=lambda shape: math.prod(int(v) for v in shape.split("x"))):
        m, n, k = (int(v) for v in shape.split("x"))
        for clipft_name, raw_name, layout in MATMUL_PAIRS:
            clipft_entry, raw_entry = medians.get(f"{clipft_name}/{shape}"), medians.get(f"{raw_name}/{shape}")
            if not clipft_entry or not raw_entry:
                continue
            gflop = 2e-9 * m * n * k
            rows.append({"shape": shape, "layout": layout, "clipft": clipft_name, "raw": raw_name,
                         "raw_ms": raw_entry["median_ms"], "clipft_ms": clipft_entry["median_ms"],
                         "raw_gflops": gflop / (raw_entry["median_ms"] * 1e-3),
                         "clipft_gflops": gflop / (clipft_entry["median_ms"] * 1e-3),
                         "clipft_over_raw": clipft_entry["median_ms"] / raw_entry["median_ms"]})
    return rows


def markdown(environment, ops, matmuls):
    lines = [f"clipft benchmarks, {environment['date']}: {environment['cpu_model']}, {environment['cores']} cores "
             f"({', '.join(environment['cpu_flags'])}); OPENBLAS_CORETYPE={environment['openblas_coretype']} "
             f"(clipft loaded {environment['clipft_openblas_core']}, torch {environment['torch_openblas_core']}); "
             f"{environment['threads']} threads; torch {environment['torch']}; best of {environment['rounds']} "
             f"round(s) of medians; load average {environment['load_average']}.", ""]
    if matmuls:
        lines += ["| M x N x K | product | cblas_sgemm ms | clipft ms | sgemm GFLOP/s | clipft GFLOP/s "
                  "| clipft / sgemm |", "|---|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['shape']} | {r['clipft']}: {r['layout']} | {r['raw_ms']:.2f} | {r['clipft_ms']:.2f} | "
                  f"{r['raw_gflops']:.0f} | {r['clipft_gflops']:.0f} | {r['clipft_over_raw']:.3f} |" for r in matmuls]
        lines.append("")
    if ops:
        lines += ["| op | shape | pass | clipft ms | torch ms | torch / clipft |", "|---|---|---|---:|---:|---:|"]
        for r in ops:
            ratio = r["torch_over_clipft"]
            cells = [f"{r[side]:.3f}" if r[side] else "-" for side in ("clipft_ms", "torch_ms")]
            cells.append("-" if ratio is None else f"**{ratio:.2f}**" if ratio < 1 else f"{ratio:.2f}")
            lines.append(f"| {r['op']} | {r['shape']} | {r['pass']} | " + " | ".join(cells) + " |")
        ratios = [r["torch_over_clipft"] for r in ops if r["torch_over_clipft"]]
        lines += ["", f"torch / clipft > 1: clipft is faster (bold: slower). Geometric mean over {len(ratios)} "
                      f"cases: {geometric_mean(ratios):.2f}."]
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    directory = sys.argv[1]
    matmul_context, matmul_medians = {}, {}
    if os.path.exists(os.path.join(directory, "matmul.json")):
        matmul_context, matmul_medians = google_benchmark_medians(os.path.join(directory, "matmul.json"))
    ops_context, benchmarks = {}, []
    if os.path.exists(os.path.join(directory, "ops.json")):
        with open(os.path.join(directory, "ops.json")) as f:
            data = json.load(f)
        ops_context, benchmarks = data["context"], data["benchmarks"]
    torch_context = {key: value for key, value in ops_context.items() if key != "clipft"}

    cpu_model, cpu_flags = cpu_description()
    environment = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": cpu_model, "cpu_flags": cpu_flags, "cores": os.cpu_count(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "clipft_openblas_core": (ops_context.get("clipft") or matmul_context).get("openblas_core", "?"),
        "torch_openblas_core": torch_context.get("openblas_core", "?"),
        "threads": os.environ.get("CLIPFT_NUM_THREADS", "?"), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "torch": torch_context.get("torch", "?"), "rounds": torch_context.get("rounds", 0),
        "load_average": " ".join(f"{v:.1f}" for v in os.getloadavg()),
        "method": "per case and side: warm-up, then repetitions of >= min_time each; median over repetitions of "
                  "the mean wall time per iteration; lowest median over rounds (the sides alternate case by case)",
        "torch_context": torch_context,
    }
    ops = ops_rows(benchmarks)
    matmuls = matmul_rows(matmul_medians)
    with open(os.path.join(directory, "latest.json"), "w") as f:
        json.dump({"environment": environment, "matmul": matmuls, "ops": ops}, f, indent=1)
    table = markdown(environment, ops, matmuls)
    with open(os.path.join(directory, "latest.md"), "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
