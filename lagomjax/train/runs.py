"""Run directories of the command line: where a run lives, what it was, and its trained policy.

A run directory holds ``run.yml`` (the algorithm, its full config, the seeds: it loads back with
``--config`` to an equal config), ``checkpoint.ckpt`` (the whole train state of every seed and the
metrics so far, :mod:`lagomjax.checkpoint`; at the end it holds the final parameters), lagom's log
layout (``configs.pkl``, ``0/config.yml``, ``0/<seed>/train_logs.{pkl,csv}``), the learning curve
and, for ``--tensorboard``, event files under ``tb/``.

:func:`load_policy` rebuilds a trained policy from a run directory in a new process.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from lagomjax import algos, envs
from lagomjax import checkpoint as ckpt
from lagomjax.utils import yaml_dump, yaml_load

RUN_FILE, CHECKPOINT = "run.yml", "checkpoint.ckpt"


def config_to_dict(config) -> dict:
    """A config dataclass as plain YAML-able data (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(config_cls, data: dict):
    """``config_cls(**data)`` with lists turned back into tuples; unknown keys raise, naming them."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown {config_cls.__module__}.Config fields {unknown}; known: {sorted(fields)}")
    return config_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def run_record(algo_name: str, config, num_seeds: int, seed: int) -> dict:
    return {"algorithm": algo_name, "num_seeds": num_seeds, "seed": seed, "config": config_to_dict(config)}


def new_run_dir(root, algo_name: str, env_id: str) -> Path:
    """``root/<algorithm>/<env id>/<date-time>`` (``-1``, ``-2``, ... if taken), created."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / algo_name / env_id.replace("/", "_").replace(":", "_") / stamp
    path, i = base, 0
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            i += 1
            path = base.with_name(f"{stamp}-{i}")


def claim_run_dir(path, record: dict) -> Path:
    """Use ``path`` for the run ``record``: a new or empty directory is taken (``run.yml`` written);
    one holding another run, or anything else, is refused with ``ValueError`` saying why."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        if not (path / RUN_FILE).exists():
            raise ValueError(f"{path} is not empty and holds no {RUN_FILE}: give a new or empty directory")
        old = yaml_load(path / RUN_FILE)
        if old != record:
            diff = ckpt.differences(old, record)
            raise ValueError(f"{path} holds another run ({'; '.join(diff)}): give a new directory, or --resume it")
        raise ValueError(f"{path} already holds this run: continue it with --resume {path}")
    path.mkdir(parents=True, exist_ok=True)
    yaml_dump(record, path / RUN_FILE, ext=None)
    return path


def read_run(path) -> tuple[Any, Any, dict]:
    """``(algorithm module, config, record)`` of the run directory ``path``."""
    path = Path(path)
    if not (path / RUN_FILE).exists():
        raise ValueError(f"{path} is not a run directory (no {RUN_FILE})")
    record = yaml_load(path / RUN_FILE)
    module = algos.get(record["algorithm"])
    return module, config_from_dict(module.Config, record["config"]), record


class Policy(NamedTuple):
    """A trained policy loaded from a run directory.

    - ``act(obs, policy_state=None) -> (action, policy_state)``: the deterministic policy on raw
      environment observations of one environment (or a batch ``[N, ...]``), returning actions in the
      environment's own action space; jitted. ``policy_state`` is ``None`` for the first step.
    - ``act_unit``: the same in the algorithms' convention (Box actions in ``[-1, 1]``), for
      :func:`lagomjax.vis.episode_gif` and :func:`lagomjax.envs.evaluate`.
    """

    act: Any
    act_unit: Any
    init_policy_state: Any
    config: Any
    env_id: str
    update: int  # the update the parameters come from


def load_policy(run_dir, seed_index: int = 0) -> Policy:
    """The deterministic policy of seed ``seed_index`` from ``run_dir``'s checkpoint (the final
    parameters once the run finished, else the latest saved)."""
    module, config, record = read_run(run_dir)
    if not hasattr(module, "make_agent"):
        raise ValueError(f"load_policy supports the agent-based algorithms, not {record['algorithm']!r}")
    if not 0 <= seed_index < record["num_seeds"]:
        raise ValueError(f"seed_index must lie in [0, {record['num_seeds']}), got {seed_index}")
    if not envs.is_registered(config.env_id):
        raise ValueError(f"load_policy needs a registered functional environment, got {config.env_id!r}")
    from lagomjax.envs.functional import NormalizeObservation
    from lagomjax.train.loop import make_envs, obs_moments
    from lagomjax.train.seeds import run_meta

    env, _, _ = make_envs(config)
    agent = module.make_agent(config, env.action_space)
    parts = module.make_parts(config)
    keys = jax.random.split(jax.random.key(record["seed"]), record["num_seeds"])
    like = jax.jit(jax.vmap(parts.init))(keys)  # the restore target: shapes, dtypes, key implementations
    meta = run_meta(config, record["num_seeds"], record["seed"])
    state, extra = ckpt.restore(Path(run_dir) / CHECKPOINT, like, meta)
    one = jax.tree.map(lambda x: x[seed_index], state)
    norm = getattr(config, "normalize_obs", False)
    mean, var = obs_moments(one.env_state) if norm else (None, None)
    space = envs.spec(config.env_id).make_fn(**envs.spec(config.env_id).kwargs).action_space
    box = isinstance(space, gym.spaces.Box)

    def act_unit(obs, pstate=None):
        obs = jnp.asarray(obs, jnp.float32)
        single = obs.ndim == len(env.observation_space.shape)
        batch = obs[None] if single else obs
        if norm:
            batch = NormalizeObservation(env, constant_moments=(mean, var))._normalize(None, batch)
        if pstate is None:
            pstate = agent.init_policy_state(batch.shape[:1])
        action, pstate = agent.greedy(one.agent, batch, pstate)
        return (action[0] if single else action), pstate

    def act(obs, pstate=None):
        action, pstate = act_unit(obs, pstate)
        if box:
            low, high = jnp.asarray(space.low), jnp.asarray(space.high)
            action = low + (jnp.clip(action, -1.0, 1.0) + 1.0) / 2.0 * (high - low)
        return action, pstate

    return Policy(
        jax.jit(act), jax.jit(act_unit), agent.init_policy_state, config, config.env_id, int(extra["next_update"])
    )


def evaluate_run(run_dir, episodes: int = 16, seed_index: int = 0, key=0) -> np.ndarray:
    """Returns of ``episodes`` deterministic episodes of the run's policy (functional env, one jitted
    program)."""
    policy = load_policy(run_dir, seed_index)
    env = envs.make(policy.env_id, num_envs=episodes)
    if isinstance(env.action_space, gym.spaces.Box):
        env = envs.RescaleAction(env)

    def act(obs, pstate):
        return policy.act_unit(obs, pstate)

    limit = envs.time_limit(policy.env_id)
    _, returns, _ = envs.evaluate(env, act, jax.random.key(key), limit, policy.init_policy_state)
    return np.asarray(returns)
