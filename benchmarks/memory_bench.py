"""Peak memory of training, and whether it stays flat over a run (issue #15).

    python benchmarks/memory_bench.py                 # every row below, each in a fresh process
    python benchmarks/memory_bench.py --rows ppo-32

Each row trains through :func:`lagomjax.train.run_seeds` (the command line's loop: compiled chunks,
metrics to the host after each) in its own process and samples the process's resident set size
(host RSS, from /proc) after every chunk: the table gives the RSS after compiling, the peak, and the
RSS at each quarter of the run (flat after warm-up; the per-update metrics kept on the host grow
with updates x seeds, about 40 bytes per metric each). Device memory is reported
where the device says (``memory_stats()``; CPU devices do not).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

ROWS = {
    # name: (algorithm, config overrides, seeds)
    "ppo-1": ("ppo", {"env_id": "CartPole-v1", "total_steps": 2_000_000}, 1),
    "ppo-32": ("ppo", {"env_id": "CartPole-v1", "total_steps": 500_000}, 32),
    "ppo-128": ("ppo", {"env_id": "CartPole-v1", "total_steps": 200_000}, 128),
    "dqn-8": ("dqn", {"env_id": "CartPole-v1", "total_steps": 100_000}, 8),
    "sac-8": ("sac", {"env_id": "Pendulum-v1", "total_steps": 20_000}, 8),
    "td3-8": ("td3", {"env_id": "Pendulum-v1", "total_steps": 20_000}, 8),
}

CHILD = """
import json, sys, time
import jax
from lagomjax import algos
from lagomjax.train import run_seeds

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

name, overrides, seeds = json.loads(sys.argv[1])
algo = algos.get(name)
config = algo.Config(**overrides)
samples, compiled = [], []
def on_metrics(seed, update, metrics):
    if seed == 0:
        samples.append((update, rss_mb()))
t0 = time.perf_counter()
run_seeds(algo.make_parts(config), config, seeds, progress=False, on_metrics=on_metrics,
          on_compiled=lambda s: compiled.append(rss_mb()))
stats = jax.devices()[0].memory_stats() or {}
print(json.dumps({"samples": samples, "after_compile": compiled[0], "wall_s": time.perf_counter() - t0,
                  "device_peak_mb": stats.get("peak_bytes_in_use", 0) / 2**20 or None}))
"""


def measure(name: str) -> dict:
    algo, overrides, seeds = ROWS[name]
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps([algo, overrides, seeds])], capture_output=True,
                          text=True, timeout=3600)  # fmt: skip
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    rss = [r for _, r in out["samples"]]
    at = {f: rss[min(len(rss) - 1, int(f * len(rss)))] for f in (0.25, 0.5, 0.75)}
    return {"row": name, "seeds": seeds, "after_compile_mb": out["after_compile"], "peak_mb": max(rss),
            "growth_mb": rss[-1] - at[0.25], "rss_at_quarters_mb": [*at.values(), rss[-1]], "updates": len(rss),
            "device_peak_mb": out["device_peak_mb"], "wall_s": out["wall_s"]}  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    print("| run | seeds | host RSS after compiling | peak host RSS | RSS at 1/4, 1/2, 3/4, end of the run "
          "| device peak |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    results = []
    for name in args.rows:
        r = measure(name)
        results.append(r)
        algo, overrides, _ = ROWS[name]
        device = "n/a (CPU)" if r["device_peak_mb"] is None else f"{r['device_peak_mb']:.0f} MB"
        print(f"| {algo.upper()} {overrides['env_id']} {overrides['total_steps']:,} steps | {r['seeds']} | "
              f"{r['after_compile_mb']:.0f} MB | {r['peak_mb']:.0f} MB | "
              f"{', '.join(f'{v:.0f}' for v in r['rss_at_quarters_mb'])} MB | {device} |",
              flush=True)  # fmt: skip
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
