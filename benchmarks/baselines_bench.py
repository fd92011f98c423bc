"""Baselines: speed side by side with the peers, and the full learning targets of issue #6.

    python benchmarks/baselines_bench.py speed --purejaxrl ~/purejaxrl/purejaxrl  # PPO vs PureJaxRL; vs SB3
    python benchmarks/baselines_bench.py learning    # every algorithm, 8 seeds, deterministic eval
    python benchmarks/baselines_bench.py learning --only playground --peers brax  # beside brax's trainers
    python benchmarks/baselines_bench.py scaling     # PPO, 1 vs many seeds vmapped (1 vs 1024 on a GPU)
    python benchmarks/baselines_bench.py all

Speed: best of ``--repeats`` runs after a compile (timed separately; PPO against PureJaxRL: the best
of up to three compiles each, interleaved, every one from empty caches). The PureJaxRL reference is its
own ``purejaxrl/ppo.py`` on gymnax CartPole, imported unmodified from a checkout (``--purejaxrl DIR``
or ``PUREJAXRL_DIR``; never copied here). SB3 runs torch on CPU with the same
hyper-parameters and network sizes; its rate is measured over a short run (it is constant in time).
Then, for SAC and DQN, whether their steps are compute-bound (:func:`compute_bound`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from common import best_of

from lagomjax import algos


def timed_train(train, key, repeats):
    """``(compile_s, best run_s, output of the last run)`` for ``jax.jit(train)(key)``."""
    t0 = time.perf_counter()
    compiled = jax.jit(train).lower(key).compile()
    compile_s = time.perf_counter() - t0
    best, out = float("inf"), None
    for i in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(compiled(jax.random.fold_in(key, i)))
        best = min(best, time.perf_counter() - t0)
    return compile_s, best, out


def fresh_compile(fn, *args):
    """``(compiled, seconds)``: ``jax.jit(fn)`` compiled for ``args`` from empty caches, timing the
    compile alone (not the tracing and lowering before it)."""
    jax.clear_caches()
    lowered = jax.jit(fn).lower(*args)
    t0 = time.perf_counter()
    compiled = lowered.compile()
    return compiled, time.perf_counter() - t0


def purejaxrl_module(path):
    """PureJaxRL's own ``ppo.py`` (Lu et al. 2022), imported unmodified from a checkout's ``purejaxrl/``
    folder (``git clone https://github.com/luchris429/purejaxrl``). Its ``wrappers.py`` imports navix
    (MiniGrid, not used by ``ppo.py``): an empty stand-in module is registered if navix is absent."""
    import importlib
    import importlib.util
    import types
    from pathlib import Path

    folder = Path(path or os.environ.get("PUREJAXRL_DIR", "")).expanduser()
    if not (folder / "ppo.py").exists():
        raise SystemExit(
            f"PureJaxRL's purejaxrl/ folder not found at {str(folder)!r}: pass --purejaxrl DIR (a checkout of "
            "github.com/luchris429/purejaxrl, its purejaxrl/ folder) or set PUREJAXRL_DIR"
        )
    try:
        importlib.import_module("navix")
    except ImportError:
        sys.modules["navix"] = types.ModuleType("navix")

    def load(name, module_name):  # a file of the checkout, by path (ppo.py imports its wrappers as `wrappers`)
        spec = importlib.util.spec_from_file_location(module_name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module

    load("wrappers", "wrappers")
    return load("ppo", "purejaxrl_ppo")


PINNED = {"num_envs": 4, "num_steps": 128, "total_steps": 500_000, "update_epochs": 4, "num_minibatches": 4,
          "lr": 2.5e-4, "gamma": 0.99, "gae_lambda": 0.95, "clip_eps": 0.2, "ent_coef": 0.01, "vf_coef": 0.5,
          "max_grad_norm": 0.5}  # fmt: skip


def purejaxrl_config(cfg) -> dict:
    """The same settings in PureJaxRL's config dict (its ppo.py's own keys)."""
    return {"LR": cfg.lr, "NUM_ENVS": cfg.num_envs, "NUM_STEPS": cfg.num_steps, "TOTAL_TIMESTEPS": cfg.total_steps,
            "UPDATE_EPOCHS": cfg.update_epochs, "NUM_MINIBATCHES": cfg.num_minibatches, "GAMMA": cfg.gamma,
            "GAE_LAMBDA": cfg.gae_lambda, "CLIP_EPS": cfg.clip_eps, "ENT_COEF": cfg.ent_coef, "VF_COEF": cfg.vf_coef,
            "MAX_GRAD_NORM": cfg.max_grad_norm, "ACTIVATION": "tanh", "ENV_NAME": "CartPole-v1", "ANNEAL_LR": True,
            "DEBUG": False}  # fmt: skip


def ppo_vs_purejaxrl(repeats, path=None, seeds=(1, 8)):
    """PPO at the pinned CartPole config against PureJaxRL's own ppo.py on gymnax, 1 seed and 8 vmapped
    seeds, interleaved repeats, best of each."""
    pjr = purejaxrl_module(path)
    ppo = algos.ppo
    cfg = ppo.Config(env_id="CartPole-v1", **PINNED)
    steps = cfg.num_updates * cfg.batch_size
    print(f"\n## PPO, CartPole-v1, pinned config, {steps:,} steps per seed: lagomjax vs PureJaxRL's own ppo.py")
    print("| seeds | | compile | run | env-steps/s (all seeds) | training return (last 20 updates) |")
    print("|---:|---|---:|---:|---:|---:|")
    rates, times = {}, {}
    parts = ppo.make_parts(cfg)
    alone = lambda k: jax.lax.scan(parts.update, parts.init(k), jnp.arange(cfg.num_updates))  # noqa: E731
    for n in seeds:
        keys = jax.random.split(jax.random.key(0), n)
        ref_keys = jax.random.split(jax.random.PRNGKey(0), n)
        ours_c, ref_c, alone_c = float("inf"), float("inf"), float("inf")
        for _ in range(min(repeats, 3)):  # compiles too: best of a few, interleaved, from empty caches
            ours, c = fresh_compile(jax.vmap(ppo.make_train(cfg)), keys)
            ours_c = min(ours_c, c)
            alone_c = min(alone_c, fresh_compile(jax.vmap(alone), keys)[1])  # without the final evaluation
            ref, c = fresh_compile(jax.vmap(pjr.make_train(purejaxrl_config(cfg))), ref_keys)
            ref_c = min(ref_c, c)
        best = {"ours": float("inf"), "ref": float("inf")}
        for _ in range(repeats):  # interleaved, so both see the same machine
            t0 = time.perf_counter()
            _, m = jax.block_until_ready(ours(keys))
            best["ours"] = min(best["ours"], time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = jax.block_until_ready(ref(ref_keys))
            best["ref"] = min(best["ref"], time.perf_counter() - t0)
        ours_final = float(np.nanmean(np.asarray(m["episode_return"])[:, -20:]))
        info = out["metrics"]
        done = np.asarray(info["returned_episode"])[:, -20:]
        ref_final = float(np.asarray(info["returned_episode_returns"])[:, -20:][done].mean())
        rates[n] = (n * steps / best["ours"], n * steps / best["ref"])
        print(f"| {n} | lagomjax | {ours_c:.1f} s | {best['ours']:.2f} s | {rates[n][0]:,.0f} | {ours_final:.1f} |")
        print(
            f"| {n} | PureJaxRL ppo.py | {ref_c:.1f} s | {best['ref']:.2f} s | {rates[n][1]:,.0f} | {ref_final:.1f} |"
        )
        print(f"| {n} | ratio | {ref_c / ours_c:.2f}x | | {rates[n][0] / rates[n][1]:.2f}x | |")
        print(f"| {n} | lagomjax without its final evaluation | {alone_c:.1f} s ({ref_c / alone_c:.2f}x) | | | |")
        sys.stdout.flush()
        times[n] = best
    flops, rows = ppo_update_flops(cfg), cfg.minibatch_size
    rate = matmul_rate(rows, cfg.hidden_sizes[0], repeats)
    print(f"\n## PPO's update against the matmul floor: {flops / 1e6:.1f} MFLOP per update and seed (XLA's cost")
    print(f"analysis of its parts), {rate / 1e9:.1f} GFLOP/s on [{rows},{cfg.hidden_sizes[0]}] layers here")
    print("| seeds | floor per update | lagomjax | PureJaxRL ppo.py | lagomjax / floor | PureJaxRL / floor |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, best in times.items():
        floor, ours_u, ref_u = n * flops / rate, best["ours"] / cfg.num_updates, best["ref"] / cfg.num_updates
        print(f"| {n} | {floor * 1e3:.2f} ms | {ours_u * 1e3:.2f} ms | {ref_u * 1e3:.2f} ms | {ours_u / floor:.2f}x "
              f"| {ref_u / floor:.2f}x |")  # fmt: skip
    return rates[seeds[0]][0]


def ppo_update_flops(cfg) -> float:
    """FLOPs of one PPO update at ``cfg`` for one seed, by XLA's cost analysis of its parts (XLA counts a
    loop's body once, so the parts are counted apart and multiplied): acting on ``num_envs``
    observations ``num_steps`` times, the values of the rollout's next observations, and
    ``update_epochs x num_minibatches`` gradients of log-probs, entropies and values on a minibatch.
    The optimiser's elementwise work and the environment are left out, so the floor is a low one."""
    from lagomjax import envs
    from lagomjax.algos import actor_critic as ac

    env = envs.make(cfg.env_id)
    model = ac.make_model(cfg, env.action_space)
    obs = lambda n: jnp.zeros((n, *env.observation_space.shape))  # noqa: E731
    params = model.init(jax.random.key(0), (), obs(1))
    policy = lambda p, o: model.apply(p, (), o)[1:]  # noqa: E731  acting: the distribution and the value
    value = lambda p, o: model.apply(p, (), o)[2]  # noqa: E731

    def loss(p, o, a):
        logp, entropy, values, _ = ac.replay(model, p, o, a, (), None)
        return jnp.sum(logp + entropy + values)

    act = xla_flops(policy, params, obs(cfg.num_envs))
    next_values = xla_flops(value, params, obs(cfg.batch_size))
    mb = cfg.minibatch_size
    sgd = xla_flops(jax.grad(loss), params, obs(mb), jnp.zeros(mb, jnp.int32))
    return cfg.num_steps * act + next_values + cfg.update_epochs * cfg.num_minibatches * sgd


def xla_flops(fn, *args) -> float:
    """FLOPs of ``jax.jit(fn)(*args)`` by XLA's cost analysis of the compiled program (a loop's body
    counted once)."""
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    return (cost[0] if isinstance(cost, list) else cost)["flops"]


def matmul_rate(rows: int, width: int, repeats: int, n: int = 20_000) -> float:
    """FLOP/s of ``[rows, width] @ [width, width]`` matmuls chained through tanh in one compiled loop (the
    layer shape of the networks timed here)."""
    w = jnp.full((width, width), 0.01)
    chain = jax.jit(lambda x: jax.lax.fori_loop(0, n, lambda _, x: jnp.tanh(x @ w), x))
    return 2 * rows * width * width / (best_of(lambda: chain(jnp.ones((rows, width))), repeats) / n)


# SB3 and sbx run the same settings as lagomjax's defaults: SAC on Pendulum-v1 with 64-64 networks,
# batch 256, one gradient step per environment step after 100 random steps; DQN on CartPole-v1 with
# 4 envs, 256-256 networks, batch 128, 128 gradient steps after every 256 environment steps.
SAC_KW = {"learning_rate": 1e-3, "learning_starts": 100, "batch_size": 256, "seed": 0, "verbose": 0,
          "policy_kwargs": {"net_arch": [64, 64]}}  # fmt: skip
DQN_KW = {"learning_rate": 1e-3, "learning_starts": 1_000, "batch_size": 128, "buffer_size": 100_000,
          "train_freq": 64, "gradient_steps": 128, "target_update_interval": 256, "exploration_fraction": 0.1,
          "exploration_final_eps": 0.04, "seed": 0, "verbose": 0,
          "policy_kwargs": {"net_arch": [256, 256]}}  # fmt: skip


def peer_rate(cls, env, kwargs, warmup, steps, repeats=1) -> float:
    """Env-steps/s of a stable-baselines3-style model (SB3 or sbx) after a warm-up past learning_starts
    (sbx compiles then): best of ``repeats`` continuations of ``steps`` steps (its rate is constant in time)."""
    model = cls("MlpPolicy", env, **kwargs)
    model.learn(warmup)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False)
        best = min(best, time.perf_counter() - t0)
    return steps / best


def peer_rates(repeats) -> dict:
    """``{(algorithm, peer): env-steps/s}`` for SB3 (torch CPU, 2 threads) and sbx, where installed."""
    rates = {}
    try:
        import torch
        from stable_baselines3 import DQN, PPO, SAC
        from stable_baselines3.common.env_util import make_vec_env
    except ImportError:
        print("stable-baselines3 is not installed: pip install -e '.[bench]'")
        return rates
    torch.set_num_threads(2)
    ppo = PPO(
        "MlpPolicy", make_vec_env("CartPole-v1", n_envs=4, seed=0), n_steps=128, batch_size=128, n_epochs=4,
        learning_rate=2.5e-4, gamma=0.99, gae_lambda=0.95, clip_range=0.2, ent_coef=0.01, vf_coef=0.5,
        max_grad_norm=0.5, device="cpu", seed=0, policy_kwargs={"net_arch": [64, 64]},
    )  # fmt: skip
    t0 = time.perf_counter()
    ppo.learn(16_384)
    rates["ppo", "SB3"] = 16_384 / (time.perf_counter() - t0)
    rates["sac", "SB3"] = peer_rate(SAC, "Pendulum-v1", {**SAC_KW, "device": "cpu"}, 300, 1_500, repeats)
    vec = lambda: make_vec_env("CartPole-v1", n_envs=4, seed=0)  # noqa: E731
    rates["dqn", "SB3"] = peer_rate(DQN, vec(), {**DQN_KW, "device": "cpu"}, 2_048, 4_096, repeats)
    try:
        import sbx
    except ImportError:
        print("sbx is not installed: pip install -e '.[bench]'")
        return rates
    rates["sac", "sbx"] = peer_rate(sbx.SAC, "Pendulum-v1", SAC_KW, 300, 3_000, repeats)
    rates["dqn", "sbx"] = peer_rate(sbx.DQN, vec(), DQN_KW, 2_048, 16_384, repeats)
    return rates


def speed(repeats, purejaxrl=None):
    rates = {("ppo", "lagomjax"): ppo_vs_purejaxrl(repeats, purejaxrl)}
    for name in ("sac", "dqn"):  # one seed, the default configs (the settings the peers are given)
        module = algos.get(name)
        cfg = module.Config()
        _, run_s, _ = timed_train(module.make_train(cfg), jax.random.key(0), max(1, repeats // 2))
        rates[name, "lagomjax"] = cfg.total_steps / run_s
    rates.update(peer_rates(max(1, repeats // 2)))
    print("\n## Against stable-baselines3 (torch CPU) and sbx (SB3 in JAX), env-steps/s per seed")
    print("| algorithm | lagomjax | SB3 | sbx | vs SB3 | vs sbx |\n|---|---:|---:|---:|---:|---:|")
    names = {"ppo": "PPO CartPole-v1 (pinned)", "sac": "SAC Pendulum-v1 (64-64)", "dqn": "DQN CartPole-v1 (256-256)"}
    for algo, title in names.items():
        ours = rates[algo, "lagomjax"]
        peers = [rates.get((algo, p)) for p in ("SB3", "sbx")]
        cells = [f"{r:,.0f}" if r else "" for r in peers] + [f"{ours / r:.1f}x" if r else "" for r in peers]
        print(f"| {title} | {ours:,.0f} | " + " | ".join(cells) + " |")
    compute_bound(rates, max(1, repeats // 2 + 1))


class _Rollout(NamedTuple):  # the fields an off-policy learn reads, [T, B, ...]
    obs: jax.Array
    actions: jax.Array
    rewards: jax.Array
    next_obs: jax.Array
    terminated: jax.Array


def compute_bound(rates, repeats, lengths=(20_000, 40_000)) -> None:
    """The table of :func:`step_floor` for SAC and DQN, with the FLOP/s their targets against SB3 (20x
    and 10x its rate in ``rates``) would need."""
    big, square = jnp.ones((1024, 1024)), jax.jit(lambda a: a @ a)  # jitted once: the runs time no retrace
    big_rate = 2 * 1024**3 / best_of(lambda: square(big), repeats)
    print(f"\n## Are the off-policy steps compute-bound? ({jax.devices()[0].platform}; a [1024,1024] matmul runs at "
          f"{big_rate / 1e9:.1f} GFLOP/s)")  # fmt: skip
    print("| default config | update FLOPs per env step | time per env step in training | GFLOP/s reached "
          "| matmul chain on its layer shape, GFLOP/s | step / its FLOPs at that chain's rate | target "
          "| GFLOP/s the target needs |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for name, times in (("sac", 20), ("dqn", 10)):
        flops, step_s, (b, h), rate = step_floor(name, repeats, lengths)
        need = times * rates[name, "SB3"] if (name, "SB3") in rates else float("nan")
        print(f"| {name.upper()} | {flops / 1e6:.1f} M | {step_s * 1e6:.0f} us | {flops / step_s / 1e9:.1f} | "
              f"[{b},{h}]@[{h},{h}]: {rate / 1e9:.1f} | {step_s / (flops / rate):.2f}x | "
              f"{times}x SB3: {need:,.0f} env-steps/s | {need * flops / 1e9:.0f} |")  # fmt: skip
        sys.stdout.flush()


def step_floor(name, repeats, lengths=(20_000, 40_000)):
    """What :func:`compute_bound` measures of an off-policy algorithm (``"sac"``, ``"dqn"``, default
    config): the FLOPs its updates spend per environment step (one gradient step: sample a batch,
    losses and gradients of every network, optimiser and target updates; XLA's cost analysis counts a
    loop body once, so one gradient step's FLOPs times ``gradient_steps / rollout_size``), the time
    one environment step takes in the training program itself (runs of the two ``lengths``, best of
    ``repeats`` each, differenced, so the compile, the random warm-up and the final evaluation
    cancel), the networks' layer shape and the FLOP/s a chain of matmuls of that shape reaches here.
    (A scan of ``learn`` alone with a constant update index timed SAC 1.5x slow: XLA copied the replay
    buffer twice per step there, which the training program does not.)"""
    from lagomjax import envs

    module = algos.get(name)
    cfg = module.Config()
    env = envs.make(cfg.env_id)
    obs = env.observation_space
    agent = module.make_agent(cfg, env.action_space)
    state = jax.eval_shape(agent.init, jax.random.key(0), jnp.zeros((1, *obs.shape), obs.dtype))
    action = jnp.asarray(env.action_space.sample())
    ro = _Rollout(jnp.zeros((1, 1, *obs.shape), obs.dtype), jnp.zeros((1, 1, *action.shape), action.dtype),
                  jnp.zeros((1, 1)), jnp.zeros((1, 1, *obs.shape), obs.dtype), jnp.zeros((1, 1), bool))  # fmt: skip
    ready = jnp.int32(cfg.learning_starts)
    flops = xla_flops(agent.learn, state, ro, jax.random.key(0), ready) * cfg.gradient_steps / cfg.rollout_size
    runs = [timed_train(module.make_train(dataclasses.replace(cfg, total_steps=n)), jax.random.key(0), repeats)[1]
            for n in lengths]  # fmt: skip
    b, h = cfg.batch_size, cfg.hidden_sizes[0]
    rate = matmul_rate(b, h, repeats, 10**10 // (2 * b * h * h))  # about 10 GFLOP a repeat
    return flops, (runs[1] - runs[0]) / (lengths[1] - lengths[0]), (b, h), rate


def seed_scaling(counts, total_steps=100_000):
    """PPO CartPole (pinned config) env-steps/s with 1 vs many seeds vmapped in one program (on a GPU
    the issue asks for 1 vs 1024)."""
    ppo = algos.ppo
    cfg = ppo.Config(total_steps=total_steps, update_epochs=4, lr=2.5e-4, ent_coef=0.01)
    print(f"\n## PPO seeds vmapped in one program ({jax.devices()[0].platform}, {total_steps} steps per seed)")
    print("| seeds | compile | run | env-steps/s (all seeds) |\n|---:|---:|---:|---:|")
    for n in counts:
        keys = jax.random.split(jax.random.key(0), n)
        t0 = time.perf_counter()
        compiled = jax.jit(jax.vmap(ppo.make_train(cfg))).lower(keys).compile()
        compile_s = time.perf_counter() - t0
        jax.block_until_ready(compiled(keys))
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(keys))
        run_s = time.perf_counter() - t0
        rate = n * cfg.num_updates * cfg.batch_size / run_s
        print(f"| {n} | {compile_s:.1f} s | {run_s:.2f} s | {rate:,.0f} |")


RECURRENT_PPO = {"env_id": "CartPoleNoVel-v1", "total_steps": 500_000, "lstm_size": 64, "hidden_sizes": (64,),
                 "num_envs": 8, "num_steps": 32, "num_minibatches": 1, "update_epochs": 20, "gamma": 0.98,
                 "gae_lambda": 0.98, "lr": 3e-4}  # fmt: skip

MINATAR_PPO = {"env_id": "gymnax:Breakout-MinAtar", "total_steps": 1_000_000, "num_envs": 64, "num_steps": 32,
               "num_minibatches": 4, "update_epochs": 4, "lr": 5e-3, "ent_coef": 0.01, "hidden_sizes": (64, 64),
               "activation": "relu"}  # fmt: skip

DMC_PPO = {"env_id": "playground:CartpoleSwingup", "total_steps": 6_000_000, "num_envs": 256, "num_steps": 32,
           "update_epochs": 8, "num_minibatches": 16, "gamma": 0.995, "lr": 1e-3, "ent_coef": 0.01, "std0": 0.5,
           "normalize_obs": True, "normalize_reward": True}  # fmt: skip
DMC_SAC = {"env_id": "playground:CartpoleSwingup", "total_steps": 100_000, "hidden_sizes": (256, 256),
           "learning_starts": 5000}  # fmt: skip

# (name, algorithm, overrides, target); deterministic evaluation, mean over 8 seeds
TARGETS = [
    ("PPO CartPole-v1 100k", "ppo", {"total_steps": 100_000}, 475.0),
    ("PPO CartPole-v1 500k", "ppo", {"total_steps": 500_000}, 490.0),
    ("A2C CartPole-v1 500k", "vpg", {"total_steps": 500_000}, 475.0),
    ("DQN CartPole-v1 50k", "dqn", {"total_steps": 50_000}, 450.0),
    ("SAC Pendulum-v1 20k", "sac", {"total_steps": 20_000}, -200.0),
    ("TD3 Pendulum-v1 20k", "td3", {"total_steps": 20_000}, -200.0),
    ("DDPG Pendulum-v1 20k", "ddpg", {"total_steps": 20_000}, -200.0),
    (
        "PPO Pendulum-v1 200k",
        "ppo",
        {
            "env_id": "Pendulum-v1",
            "total_steps": 200_000,
            "num_envs": 4,
            "num_steps": 1024,
            "update_epochs": 10,
            "num_minibatches": 32,
            "lr": 1e-3,
            "gamma": 0.9,
            "normalize_obs": True,
            "normalize_reward": True,
        },
        -250.0,
    ),  # fmt: skip
    ("CMA-ES policy CartPole-v1", "es_policy", {"generations": 40}, 500.0),
    # partial observability (cart position and pole angle only): RL Zoo's RecurrentPPO settings for
    # CartPoleNoVel-v1 (8 envs x 32 steps, one minibatch, 20 epochs, gamma = lambda = 0.98), LSTM 64
    ("Recurrent PPO CartPoleNoVel-v1 500k", "ppo", RECURRENT_PPO, 450.0),
    ("PPO (feed-forward) CartPoleNoVel-v1 500k", "ppo", {**RECURRENT_PPO, "lstm_size": 0}, None),
    # the classic-control twins: RL Zoo's PPO settings for Acrobot-v1 (16 envs x 256 steps, lambda 0.94,
    # 4 epochs, normalised observations); MountainCarContinuous-v0 with normalised observations and
    # rewards and gamma 0.999 (no gSDE)
    (
        "PPO Acrobot-v1 500k",
        "ppo",
        {
            "env_id": "Acrobot-v1",
            "total_steps": 500_000,
            "normalize_obs": True,
            "num_envs": 16,
            "num_steps": 256,
            "gae_lambda": 0.94,
            "update_epochs": 4,
        },
        -100.0,
    ),  # fmt: skip
    (
        "PPO MountainCarContinuous-v0 500k",
        "ppo",
        {
            "env_id": "MountainCarContinuous-v0",
            "total_steps": 500_000,
            "normalize_obs": True,
            "normalize_reward": True,
            "num_envs": 16,
            "num_steps": 64,
            "gamma": 0.999,
        },
        90.0,
    ),  # fmt: skip
    # the MuJoCo-class suite: brax's inverted pendulum (brax's default pipeline for it), whose episodes
    # last at most 1000 steps at 1 per step; MuJoCo's own InvertedPendulum counts 950 as solved
    # (gymnasium's reward_threshold for InvertedPendulum-v5)
    (
        "PPO brax:inverted_pendulum 200k",
        "ppo",
        {"env_id": "brax:inverted_pendulum", "total_steps": 200_000, "num_envs": 16, "num_steps": 64},
        950.0,
    ),
    ("SAC brax:inverted_pendulum 20k", "sac", {"env_id": "brax:inverted_pendulum", "total_steps": 20_000}, 950.0),
    # DM Control's cartpole swing-up on MuJoCo Playground (MJX): 1000-step episodes, reward in [0, 1] per
    # step. Published reference: state-based SAC scores 835 +- 22 after 100k environment steps and
    # 848 +- 15 after 500k (Srinivas, Laskin & Abbeel 2020, CURL, Table 1, "State SAC"); the targets are
    # that 100k score less its spread for SAC (the peer's 1024-wide MLP is a 256-wide one here) and 800
    # for PPO at Playground's own PPO budget for DM Control, 60M steps (many environments, entropy bonus,
    # gamma 0.995 as Playground's PPO settings); at 6M it runs beside brax's PPO trainer, untargeted
    ("PPO playground:CartpoleSwingup 6M", "ppo", DMC_PPO, None),
    ("PPO playground:CartpoleSwingup 60M", "ppo", {**DMC_PPO, "total_steps": 60_000_000}, 800.0),
    ("SAC playground:CartpoleSwingup 100k", "sac", DMC_SAC, 813.0),
    # gymnax MinAtar through the adapter, image flattened for a 64-64 ReLU MLP
    ("PPO gymnax:Breakout-MinAtar 1M", "ppo", MINATAR_PPO, None),
    ("PPO gymnax:Breakout-MinAtar 10M", "ppo", {**MINATAR_PPO, "total_steps": 10_000_000}, None),
]


PEER_MAX_STEPS = 10_000_000  # brax's trainers run beside the rows up to this budget (2x slower here than ours)


def brax_playground(algo, config, seeds):
    """brax's own trainer of ``algo`` (PPO or SAC: the ones MuJoCo Playground trains its DM Control
    tasks with) on the same Playground task through its own ``wrap_for_brax_training``, at
    ``config``'s step budget and settings: networks, discount, learning rate; for PPO the batch
    geometry (``num_envs`` x ``num_steps`` per update, ``num_minibatches``, ``update_epochs``),
    entropy and clip, with Playground's reward scaling of 10 in place of the return-std reward
    normalisation brax does not have; for SAC the batch, Polyak rate, replay size, updates per step
    and the random steps before learning. Seeds run one after another (the trainers are Python
    loops); returns each seed's final deterministic evaluation return and the total wall time.

    brax 0.14.2's trainers call ``jax.device_put_replicated``, removed in jax 0.10; it is defined here
    as what it did on one device (stack the tree along a new device axis)."""
    import functools

    from brax.training.agents.ppo import networks as ppo_networks
    from brax.training.agents.ppo import train as brax_ppo
    from brax.training.agents.sac import networks as sac_networks
    from brax.training.agents.sac import train as brax_sac
    from flax import linen
    from mujoco_playground import registry, wrapper

    if not hasattr(jax, "device_put_replicated"):
        jax.device_put_replicated = lambda tree, devices: jax.device_put(
            jax.tree.map(lambda a: jnp.stack([a] * len(devices)), tree), devices[0]
        )
    env = registry.load(config.env_id.split(":", 1)[1], config_overrides={"impl": "jax"})
    activation = getattr(linen, config.activation)
    common = {"num_timesteps": config.total_steps, "num_evals": 2, "episode_length": 1000, "num_envs": config.num_envs,
              "discounting": config.gamma, "learning_rate": config.lr, "wrap_env_fn": wrapper.wrap_for_brax_training,
              "deterministic_eval": True}  # fmt: skip
    if algo == "ppo":
        train = brax_ppo.train
        nets = functools.partial(ppo_networks.make_ppo_networks, policy_hidden_layer_sizes=config.hidden_sizes,
                                 value_hidden_layer_sizes=config.hidden_sizes, activation=activation)  # fmt: skip
        kwargs = {"unroll_length": config.num_steps, "batch_size": config.num_envs // config.num_minibatches,
                  "num_minibatches": config.num_minibatches, "num_updates_per_batch": config.update_epochs,
                  "entropy_cost": config.ent_coef, "gae_lambda": config.gae_lambda, "clipping_epsilon": config.clip_eps,
                  "vf_loss_coefficient": config.vf_coef, "max_grad_norm": config.max_grad_norm,
                  "normalize_observations": config.normalize_obs, "reward_scaling": 10.0}  # fmt: skip
    else:
        train = brax_sac.train
        nets = functools.partial(sac_networks.make_sac_networks, hidden_layer_sizes=config.hidden_sizes,
                                 activation=activation)  # fmt: skip
        kwargs = {"batch_size": config.batch_size, "tau": config.tau, "min_replay_size": config.learning_starts,
                  "max_replay_size": config.buffer_size, "grad_updates_per_step": config.gradient_steps}  # fmt: skip
    returns, t0 = [], time.perf_counter()
    for seed in range(seeds):  # the returned metrics are the last evaluation's
        _, _, metrics = train(environment=env, seed=seed, network_factory=nets, **common, **kwargs)
        returns.append(float(metrics["eval/episode_reward"]))
    return np.asarray(returns), time.perf_counter() - t0


def learning(names=None, seeds=8, peers=()):
    """Each run's seeds vmapped in one program; a target of None is reported only."""
    print(f"\n## Learning targets: deterministic evaluation, mean over {seeds} seeds")
    print("| run | mean +- std | min | target | met | wall (compile + run) |")
    print("|---|---:|---:|---:|:---:|---:|")
    for name, algo, overrides, target in TARGETS:
        if names and not any(n.lower() in name.lower() for n in names):
            continue
        module = algos.get(algo)
        config = module.Config(**overrides)
        keys = jax.random.split(jax.random.key(0), seeds)
        t0 = time.perf_counter()
        _, m = jax.block_until_ready(jax.jit(jax.vmap(module.make_train(config)))(keys))
        wall = time.perf_counter() - t0
        r = np.asarray(m["eval_return"], np.float64)
        met = "" if target is None else "yes" if r.mean() >= target else "NO"
        goal = "" if target is None else f"{target:g}"
        print(f"| {name} | {r.mean():.1f} +- {r.std():.1f} | {r.min():.1f} | {goal} | {met} | {wall:.0f} s |")
        sys.stdout.flush()
        beside = config.total_steps <= PEER_MAX_STEPS and config.env_id.startswith("playground:")
        if "brax" in peers and algo in ("ppo", "sac") and beside:
            peer = f"{name}: brax's {algo.upper()} trainer (Playground's)"
            try:
                r, wall = brax_playground(algo, config, seeds)
            except ImportError as e:
                print(f"| {peer} | not installed ({e.name}) | | | | |")
                continue
            print(f"| {peer} | {r.mean():.1f} +- {r.std():.1f} | {r.min():.1f} | | | {wall:.0f} s |")
            sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["speed", "learning", "scaling", "all"], nargs="?", default="all")
    parser.add_argument("--seed-counts", type=lambda v: [int(x) for x in v.split(",")], default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="learning runs whose name contains one of these")
    parser.add_argument("--seeds", type=int, default=8, help="seeds of each learning run (vmapped)")
    parser.add_argument("--peers", nargs="*", default=(), help="learning peers to run beside: brax (Playground rows)")
    parser.add_argument("--purejaxrl", default=None, help="PureJaxRL checkout's purejaxrl/ folder (or PUREJAXRL_DIR)")
    args = parser.parse_args()
    print(f"jax {jax.__version__}, devices {jax.devices()}")
    if args.what in ("speed", "all"):
        speed(args.repeats, args.purejaxrl)
    if args.what in ("learning", "all"):
        learning(args.only, args.seeds, args.peers)
    if args.what in ("scaling", "all"):
        gpu = jax.devices()[0].platform == "gpu"
        seed_scaling(args.seed_counts or ([1, 1024] if gpu else [1, 8, 32]))


if __name__ == "__main__":
    main()
