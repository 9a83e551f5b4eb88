"""CPU seconds per batch of `clipft bench` and bench/clip_torch.py, for a machine shared with other work.

On a loaded machine wall times measure the other load; the CPU time a process uses (user + system, of
all its threads) does not, as long as neither side spins. Both sides here sleep when idle: clipft's
pool on a condition variable, PyTorch's OpenMP workers under OMP_WAIT_POLICY=PASSIVE. Each side runs
each case twice, with --iters N and --iters 1 (the same --warmup); the difference of the two
processes' CPU times over N - 1 is the CPU time of one batch (encoding) or one step, without start-up,
model construction and warm-up. Sides rotate from round to round and each keeps its lowest estimate.
Prints a Markdown table, speed ratios being inverse CPU-time ratios; the raw runs go to --out as
JSON lines.

    /usr/bin/python3 bench/clip_cpu_seconds.py --clipft clipft=build/examples/clipft \\
        [--clipft before=/path/to/another/clipft] [--case "image B32 8" --case "step B32 16" ...] \\
        [--iters 4] [--rounds 2] [--precisions float32 bfloat16] [--no-torch] [--out FILE]

Run it under the environment of bench/clip_vs_torch.sh (it sets the same itself when unset:
OPENBLAS_CORETYPE from the CPU flags, 2 threads, OMP_WAIT_POLICY=PASSIVE).
"""
import argparse
import json
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def openblas_coretype():
    flags = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith("flags")), "")
    except OSError:
        pass
    for flag, core in (("avx512_bf16", "Cooperlake"), ("avx512f", "SkylakeX"), ("avx2", "Haswell")):
        if f" {flag}" in flags:
            return core
    return None


def measure(command, environment):
    """(user + system seconds of the finished process and its threads, its last output line as JSON)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.run(command, capture_output=True, env=environment, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the child has been waited for: counted here
    if process.returncode != 0:
        raise SystemExit(f"clip_cpu_seconds.py: {' '.join(command)} failed ({process.returncode}): {process.stderr.strip()}")
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, json.loads(process.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clipft", action="append", required=True, metavar="NAME=PATH",
                        help="a clipft executable and the name of its columns; repeat to compare builds")
    parser.add_argument("--case", action="append", metavar="'WHAT PRESET BATCH'",
                        help="default: 'image B32 8', 'step B32 16', 'image L14 2'")
    parser.add_argument("--iters", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("CLIPFT_NUM_THREADS", "2")))
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--no-torch", action="store_true", help="only the clipft executables")
    parser.add_argument("--python", default=os.environ.get("PYTHON", "/usr/bin/python3"))
    parser.add_argument("--out", default="clip_cpu_seconds.jsonl")
    args = parser.parse_args()
    if args.iters < 2:
        parser.error("--iters must be at least 2 (the estimate is a difference against a run of 1)")
    environment = dict(os.environ)
    if "OPENBLAS_CORETYPE" not in environment and openblas_coretype():
        environment["OPENBLAS_CORETYPE"] = openblas_coretype()
    environment.update(CLIPFT_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
                       OMP_WAIT_POLICY="PASSIVE")

    programs = []  # (side name, command prefix)
    for named in args.clipft:
        name, _, path = named.partition("=")
        if not path:
            parser.error(f"--clipft {named}: give NAME=PATH")
        programs.append((name, [path, "bench"]))
    if not args.no_torch:
        programs.append(("torch", [args.python, os.path.join(HERE, "clip_torch.py")]))
    sides = [(name, prefix, precision) for name, prefix in programs for precision in args.precisions]
    cases = [c.split() for c in (args.case or ["image B32 8", "step B32 16", "image L14 2"])]

    best = {}  # (case, side, precision) -> (cpu seconds per batch, line of the N-iteration run)
    with open(args.out, "w") as out:
        for what, preset, batch in cases:
            for round_index in range(args.rounds):
                for i in range(len(sides)):
                    name, prefix, precision = sides[(i + round_index) % len(sides)]
                    common = prefix + ["--preset", preset, "--what", what, "--batch", batch, "--threads", str(args.threads),
                                       "--warmup", str(args.warmup), "--precision", precision]
                    many, line = measure(common + ["--iters", str(args.iters)], environment)
                    one, _ = measure(common + ["--iters", "1"], environment)
                    per_batch = (many - one) / (args.iters - 1)
                    record = {"side": name, "case": f"{what} {preset} {batch}", "precision": precision,
                              "cpu_s_per_batch": round(per_batch, 4), "cpu_s_iters": round(many, 3),
                              "cpu_s_one": round(one, 3), "run": line}
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    print(json.dumps(record), file=sys.stderr)
                    key = (f"{what} {preset} {batch}", name, precision)
                    if key not in best or per_batch < best[key][0]:
                        best[key] = (per_batch, line)

    names = [name for name, _ in programs]
    columns = [(name, precision) for name in names for precision in args.precisions]
    reference = ("torch", "float32") if not args.no_torch else columns[0]
    print(f"CPU seconds per batch (encode) or step, {args.threads} threads, OPENBLAS_CORETYPE="
          f"{environment.get('OPENBLAS_CORETYPE', 'default')}, best of {args.rounds} rounds of --iters {args.iters} "
          f"against --iters 1; speed ratios against {reference[0]} {reference[1]}\n")
    header = ["case"] + [f"{n} {p}" for n, p in columns] + [f"{n} {p} speed" for n, p in columns if (n, p) != reference]
    print("| " + " | ".join(header) + " |")
    print("| --- | " + " | ".join("---:" for _ in header[1:]) + " |")
    for what, preset, batch in cases:
        case = f"{what} {preset} {batch}"
        seconds = {column: best.get((case,) + column, (float("nan"), None))[0] for column in columns}
        cells = [case] + [f"{seconds[c]:.3f} s" for c in columns]
        cells += [f"{seconds[reference] / seconds[c]:.2f}x" for c in columns if c != reference]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
