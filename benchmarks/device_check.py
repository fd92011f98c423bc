"""The accelerator check: what one GPU (or TPU) gives over this machine's CPU, in one command.

    python benchmarks/device_check.py --out device_check.json        # on a GPU machine: < 8 minutes
    python benchmarks/device_check.py --tiny                          # the same code at toy sizes (CI)

Rows (each timed after its own compile, best of ``--repeats``; rates are aggregate over seeds):

- PPO CartPole-v1 (the pinned config's network and batch), 1 seed vs 1024 vmapped seeds;
- PPO gymnax:Breakout-MinAtar (the README's MinAtar settings), 64 vmapped seeds (needs lagomjax[gymnax]);
- SAC Pendulum-v1 (64-64 networks, one gradient step per env step), 1 vs 256 vmapped seeds;
- a random-action rollout of 65,536 CartPole environments (100 steps);
- CMA-ES at D = 10,000 (full covariance, Cholesky path, popsize 4 + 3 ln D) on the sphere.

Every row also runs on the CPU (``jax.devices('cpu')``) at the same sizes but fewer updates or
generations (rates do not depend on run length), so the table gives the accelerator's speed-up. On a
machine without an accelerator the CPU column is left out. Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from common import timed

from lagomjax import envs, es
from lagomjax.algos import ppo, sac

MINATAR = {"env_id": "gymnax:Breakout-MinAtar", "num_envs": 64, "num_steps": 32, "num_minibatches": 4,
           "update_epochs": 4, "lr": 5e-3, "ent_coef": 0.01, "hidden_sizes": (64, 64),
           "activation": "relu"}  # fmt: skip


def train_rate(module, config, seeds, device, repeats):
    """Aggregate env-steps/s of ``seeds`` vmapped runs of ``config`` on ``device``."""
    with jax.default_device(device):
        keys = jax.random.split(jax.random.key(0), seeds)
        compile_s, run_s, (_, metrics) = timed(jax.vmap(module.make_train(config)), (keys,), repeats)
    steps = int(np.asarray(metrics["env_steps"])[0, -1])  # per seed
    return {"compile_s": compile_s, "run_s": run_s, "rate": seeds * steps / run_s, "seeds": seeds, "steps": steps}


def rollout_rate(num_envs, steps, device, repeats):
    with jax.default_device(device):
        env = envs.make("CartPole-v1", num_envs=num_envs)

        def run(key):
            state, obs = env.reset(key)

            def policy(k, o, p):
                return jax.random.randint(k, o.shape[:1], 0, 2), {}, p

            # the final state too: CartPole's reward is 1 per step, so a total alone is dead code's output
            (state, _, _), batch = envs.rollout(env, policy, key, state, obs, steps)
            return state, batch.rewards.sum()

        compile_s, run_s, _ = timed(run, (jax.random.key(0),), repeats)
    return {"compile_s": compile_s, "run_s": run_s, "rate": num_envs * steps / run_s}


def cmaes_rate(dim, generations, device, repeats):
    with jax.default_device(device):
        strategy = es.cmaes(dim=dim, decomposition="cholesky", max_memory=float("inf"))

        def run(key):
            state = strategy.init(jnp.ones(dim), 0.5)

            def gen(state, k):
                x, state = strategy.ask(k, state)
                return strategy.tell(state, x, es.sphere(x)), None

            return jax.lax.scan(gen, state, jax.random.split(key, generations))[0].mean

        compile_s, run_s, _ = timed(run, (jax.random.key(0),), repeats)
    return {"compile_s": compile_s, "run_s": run_s, "rate": generations / run_s}


def rows(tiny: bool):
    """``(name, unit, accelerator work, CPU work)``: each work is ``device -> result``."""
    s = 16 if tiny else 1  # divides seed counts and sizes at --tiny
    pinned = ppo.Config(env_id="CartPole-v1")

    def ppo_cfg(updates, **kw):
        c = dataclasses.replace(pinned, **kw)
        return dataclasses.replace(c, total_steps=updates * c.num_envs * c.num_steps)

    sac_cfg = sac.Config(env_id="Pendulum-v1", hidden_sizes=(64, 64), learning_starts=100)
    out = [
        ("PPO CartPole-v1, 1 seed", "env-steps/s", lambda d, r: train_rate(ppo, ppo_cfg(2 if tiny else 50), 1, d, r),
         lambda d, r: train_rate(ppo, ppo_cfg(2 if tiny else 20), 1, d, r)),
        (f"PPO CartPole-v1, {1024 // s} seeds", "env-steps/s",
         lambda d, r: train_rate(ppo, ppo_cfg(2 if tiny else 50), 1024 // s, d, r),
         lambda d, r: train_rate(ppo, ppo_cfg(2 if tiny else 4), 1024 // s, d, r)),
        ("SAC Pendulum-v1, 1 seed", "env-steps/s",
         lambda d, r: train_rate(sac, dataclasses.replace(sac_cfg, total_steps=200 if tiny else 5000), 1, d, r),
         lambda d, r: train_rate(sac, dataclasses.replace(sac_cfg, total_steps=200 if tiny else 3000), 1, d, r)),
        (f"SAC Pendulum-v1, {256 // s} seeds", "env-steps/s",
         lambda d, r: train_rate(sac, dataclasses.replace(sac_cfg, total_steps=200 if tiny else 5000), 256 // s, d, r),
         lambda d, r: train_rate(sac, dataclasses.replace(sac_cfg, total_steps=200 if tiny else 600), 256 // s, d, r)),
        (f"random rollout, {65536 // s} CartPole envs x 100 steps", "env-steps/s",
         lambda d, r: rollout_rate(65536 // s, 100, d, r), lambda d, r: rollout_rate(65536 // s, 100, d, r)),
        (f"CMA-ES, D = {10_000 // (s * 4) if tiny else 10_000}", "generations/s",
         lambda d, r: cmaes_rate(10_000 // (s * 4) if tiny else 10_000, 3 if tiny else 20, d, r),
         lambda d, r: cmaes_rate(10_000 // (s * 4) if tiny else 10_000, 2 if tiny else 3, d, r)),
    ]  # fmt: skip
    try:
        import gymnax  # noqa: F401

        minatar = ppo.Config(**MINATAR, total_steps=64 * 32 * (2 if tiny else 30))
        cpu_minatar = dataclasses.replace(minatar, total_steps=64 * 32 * 2)
        out.insert(2, (f"PPO Breakout-MinAtar, {64 // s} seeds", "env-steps/s",
                       lambda d, r: train_rate(ppo, minatar, 64 // s, d, r),
                       lambda d, r: train_rate(ppo, cpu_minatar, 64 // s, d, r)))  # fmt: skip
    except ImportError:
        print('gymnax is not installed (pip install "lagomjax[gymnax]"): the MinAtar row is left out')
    if tiny:  # at toy sizes each code runs once: a 1-seed row repeats its many-seed row, and the MinAtar row
        # (where gymnax is installed) runs the CartPole rows' PPO code
        minatar_row = any("MinAtar" in row[0] for row in out)
        out = [row for row in out if "1 seed" not in row[0] and not (minatar_row and row[0].startswith("PPO Cart"))]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="toy sizes (CI: checks the script, measures nothing)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-cpu", action="store_true", help="accelerator only (no speed-up column)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    accel, cpu = jax.devices()[0], jax.devices("cpu")[0]
    print(f"jax {jax.__version__}; accelerator: {accel.device_kind} ({accel.platform}); CPU: {cpu.device_kind}")
    skip_cpu = args.skip_cpu or accel.platform == "cpu"  # no accelerator: the CPU column would repeat it
    results, t_start = [], time.perf_counter()
    print("| work | unit | accelerator | compile | CPU | speed-up |\n|---|---|---:|---:|---:|---:|")
    for name, unit, on_accel, on_cpu in rows(args.tiny):
        a = on_accel(accel, args.repeats)
        c = None if skip_cpu else on_cpu(cpu, 1)
        results.append({"work": name, "unit": unit, "accelerator": a, "cpu": c})
        cpu_cell, ratio = ("", "") if c is None else (f"{c['rate']:,.1f}", f"{a['rate'] / c['rate']:.1f}x")
        print(f"| {name} | {unit} | {a['rate']:,.1f} | {a['compile_s']:.1f} s | {cpu_cell} | {ratio} |", flush=True)
    total = time.perf_counter() - t_start
    print(f"\n{total:.0f} s in all")
    if args.out:
        record = {"jax": jax.__version__, "accelerator": accel.device_kind, "platform": accel.platform,
                  "cpu": cpu.device_kind, "tiny": args.tiny, "total_s": total, "rows": results}  # fmt: skip
        with open(args.out, "w") as f:
            json.dump(record, f, indent=1)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
