"""Trained policies out of command-line runs: :func:`load_policy` rebuilds a run's deterministic
policy from its directory (``run.yml`` and ``checkpoint.ckpt``, :mod:`lagomjax.train.runs`) in a
new process; :func:`evaluate_run` plays it. ``python -m lagomjax.train evaluate RUN_DIR`` calls them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from lagomjax import algos, envs
from lagomjax import checkpoint as ckpt
from lagomjax.train import runs
from lagomjax.train.runs import config_from_dict, read_record


def read_run(path) -> tuple[Any, Any, dict]:
    """``(algorithm module, config, record)`` of the run directory ``path``."""
    record = read_record(path)
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


def load_policy(run_dir, seed_index: int = 0, best: bool = False) -> Policy:
    """The deterministic policy of seed ``seed_index`` from ``run_dir``'s checkpoint (the final
    parameters once the run finished, else the latest saved), or with ``best=True`` from
    ``best.ckpt``: the parameters at that seed's best periodic evaluation."""
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
    state, extra = ckpt.restore(Path(run_dir) / (runs.BEST if best else runs.CHECKPOINT), like, meta)
    update = int(extra["updates"][seed_index]) if best else int(extra["next_update"])
    one = jax.tree.map(lambda x: x[seed_index], state)
    norm = getattr(config, "normalize_obs", False)
    mean, var = obs_moments(one.env_state) if norm else (None, None)

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
        if isinstance(env, envs.RescaleAction):  # Box actions: from the algorithms' [-1, 1] to the env's own
            action = env.to_inner(action)
        return action, pstate

    return Policy(jax.jit(act), jax.jit(act_unit), agent.init_policy_state, config, config.env_id, update)


def evaluate_run(run_dir, episodes: int = 16, seed_index: int = 0, key=0, best: bool = False) -> np.ndarray:
    """Returns of ``episodes`` deterministic episodes of the run's policy (functional env, one jitted
    program); ``best`` as :func:`load_policy`."""
    policy = load_policy(run_dir, seed_index, best)
    env = envs.make(policy.env_id, num_envs=episodes)
    if isinstance(env.action_space, gym.spaces.Box):
        env = envs.RescaleAction(env)

    limit = envs.time_limit(policy.env_id)
    _, returns, _ = envs.evaluate(env, policy.act_unit, jax.random.key(key), limit, policy.init_policy_state)
    return np.asarray(returns)
