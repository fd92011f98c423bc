"""Trained policies out of command-line runs: :func:`load_policy` rebuilds a run's deterministic
policy from its directory (``run.yml`` and ``checkpoint.ckpt``, :mod:`lagomjax.train.runs`) in a
new process; :func:`evaluate_policy` (or :func:`evaluate_run`, from the directory) plays it.
``python -m lagomjax.train evaluate RUN_DIR`` calls them.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from lagomjax import algos, envs
from lagomjax import checkpoint as ckpt
from lagomjax.envs.functional import batch_shape, rescale
from lagomjax.envs.registry import env_kwargs
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


def load_policy(
    run_dir, seed_index: int = 0, best: bool = False, stochastic: bool = False, sample_key: int = 0
) -> Policy:
    """The deterministic policy of seed ``seed_index`` from ``run_dir``'s checkpoint (the final
    parameters once the run finished, else the latest saved), or with ``best=True`` from
    ``best.ckpt``: the parameters at that seed's best periodic evaluation (a gymnasium-path run's
    ``gym_seed_<i>.best.ckpt``).

    With ``stochastic=True`` the policy samples as it explored in training (the agent's ``act``:
    PPO's and VPG's action distribution, SAC's squashed Gaussian, DQN's epsilon-greedy at its
    final epsilon, TD3's and DDPG's action noise) instead of acting greedily; every environment of
    a batch draws its own noise, a stream that ``sample_key`` seeds and that the policy state carries.

    Runs of registered functional environments restore ``checkpoint.ckpt``; runs of gymnasium ids
    (the Python runner path) restore the seed's ``gym_seed_<i>.ckpt``. A ``--search pbt`` run
    restores member ``seed_index`` of its population from ``pbt.ckpt`` (``best=True``: the member
    with the best final evaluation); other searches keep no policy."""
    return load_policies(run_dir, [seed_index], best, stochastic, sample_key)[0]


def load_policies(run_dir, seed_indices=None, best: bool = False, stochastic: bool = False,
                  sample_key: int = 0) -> list[Policy]:  # fmt: skip
    """:func:`load_policy` of each of ``seed_indices`` (default: every seed, or every member of a PBT
    run's population), the run's checkpoint read once for all of them."""
    module, config, record = read_run(run_dir)
    search = record.get("search")
    if search is not None and search["method"] != "pbt":
        raise ValueError(_search_run(run_dir, record))
    if not hasattr(module, "make_agent"):
        raise ValueError(f"load_policy supports the agent-based algorithms, not {record['algorithm']!r}")
    count, what = _num_policies(record), "member" if search is not None else "seed"
    indices = list(range(count)) if seed_indices is None else list(seed_indices)
    for seed_index in indices:
        if not 0 <= seed_index < count:
            raise ValueError(f"seed_index (the {what}) must lie in [0, {count}), got {seed_index}")
    if envs.is_registered(config.env_id):
        agent, seeds, obs_space, act_space = _functional(module, config, record, run_dir, indices, best)
    else:
        seeds = [runs.load_gym_seed(run_dir, module, i, best) for i in indices]
        agent, obs_space, act_space = seeds[0][0], seeds[0][3], seeds[0][4]
        seeds = [(one, update, None) for _, one, update, _, _ in seeds]
    return [_policy(agent, one, update, prepare, obs_space, act_space, config, stochastic, sample_key)
            for one, update, prepare in seeds]  # fmt: skip


def _policy(agent, one, update, prepare, obs_space, act_space, config, stochastic, sample_key) -> Policy:
    """The :class:`Policy` of one seed's agent state ``one``."""
    decide, init_policy_state = (
        _sampling(agent, one, sample_key) if stochastic else (partial(agent.greedy, one), agent.init_policy_state)
    )

    def act_unit(obs, pstate=None):
        obs = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), obs)
        single = batch_shape(obs_space, obs) == ()
        batch = jax.tree.map(lambda x: x[None], obs) if single else obs
        if prepare is not None:
            batch = prepare(batch)
        if pstate is None:
            pstate = init_policy_state(batch.shape[:1])
        action, pstate = decide(batch, pstate)
        return (action[0] if single else action), pstate

    def act(obs, pstate=None):
        action, pstate = act_unit(obs, pstate)
        if isinstance(act_space, gym.spaces.Box):  # from the algorithms' [-1, 1] to the env's own bounds
            action = rescale(action, -1.0, 1.0, act_space.low, act_space.high)
        return action, pstate

    return Policy(jax.jit(act), jax.jit(act_unit), init_policy_state, config, config.env_id, update)


def num_policies(run_dir) -> int:
    """How many policies :func:`load_policy` can load from ``run_dir``: its seeds, or a PBT run's
    population."""
    return _num_policies(read_record(run_dir))


def _num_policies(record) -> int:
    search = record.get("search")
    return int(search["population"]) if search is not None and search["method"] == "pbt" else int(record["num_seeds"])


def _sampling(agent, state, sample_key: int):
    """``(act(obs [n, ...], policy_state), init_policy_state)`` of the agent's exploring policy, each
    environment with its own key stream inside the policy state (so a finished episode's reset of
    its policy state touches no other environment's noise)."""
    base = jax.random.key(sample_key)

    def init_policy_state(shape):
        return jax.random.key_data(jax.random.split(base, shape[0])), agent.init_policy_state(shape)

    def act(obs, pstate):
        def one_env(key, o, p):
            key, k_act = jax.random.split(jax.random.wrap_key_data(key))
            action, _, p = agent.act(state, k_act, o[None], jax.tree.map(lambda x: x[None], p))
            return jax.random.key_data(key), action[0], jax.tree.map(lambda x: x[0], p)

        keys, inner = pstate
        keys, action, inner = jax.vmap(one_env)(keys, obs, inner)
        return action, (keys, inner)

    return act, init_policy_state


def _best_trial(run_dir) -> int | None:
    """The best trial (a PBT run's best member) of a search run, from the ``search.yml`` it writes at
    the end; None before that."""
    from lagomjax.utils import yaml_load

    summary = Path(run_dir) / "search.yml"
    best = yaml_load(summary).get("best", {}).get("trial") if summary.exists() else None
    return None if best is None else int(best)


def _search_run(run_dir, record) -> str:
    """What to do with a ``--search`` run directory other than PBT's, which keeps no trained policy."""
    best = _best_trial(run_dir)
    trial = Path(run_dir) / ("<trial>" if best is None else str(best)) / "config.yml"
    return (f"{run_dir} is a --search {record['search']['method']} run, which keeps no trained policy (its trials "
            f"are in trials.csv); train {'a' if best is None else 'the best'} trial's setting as a run of its own: "
            f"python -m lagomjax.train {record['algorithm']} --config {trial}")  # fmt: skip


def load_train_state(run_dir, like=None, best: bool = False, parts=None):
    """``(state, extra)``: every seed's train state (leaves ``[seeds, ...]``) of a run, the final
    state once the run finished, else the latest saved, checked against its ``run.yml``
    (:func:`lagomjax.train.runs.load_state`, with the run's own algorithm)."""
    module, _, record = read_run(run_dir)
    if record.get("search") is not None and record["search"]["method"] != "pbt":
        raise ValueError(_search_run(run_dir, record))
    return runs.load_state(run_dir, module, like=like, best=best, parts=parts)


def _functional(module, config, record, run_dir, indices, best):
    """``(agent, [(agent state, update, prepare) per index], observation space, action space)`` of a
    compiled run, its checkpoint read once."""
    from lagomjax.envs.functional import FlattenObservation, NormalizeObservation
    from lagomjax.train.loop import make_envs, obs_moments

    env, _, _ = make_envs(config)
    agent = module.make_agent(config, env.action_space)
    parts = module.make_parts(config)
    if record.get("search") is not None:  # PBT: members of the population
        state, update, best_member = _pbt_population(parts, record, run_dir, best)
        picked = [(best_member if best else i, update) for i in indices]
    else:
        state, extra = load_train_state(run_dir, best=best, parts=parts)
        picked = [(i, int(extra["updates"][i]) if best else int(extra["next_update"])) for i in indices]
    flatten = _find(env, FlattenObservation)
    raw_space = env.observation_space if flatten is None else flatten.env.observation_space
    seeds = []
    for i, update in picked:
        one = jax.tree.map(lambda x, i=i: x[i], state)
        frozen = None
        if getattr(config, "normalize_obs", False):
            frozen = NormalizeObservation(env, constant_moments=obs_moments(one.env_state))

        def prepare(obs, frozen=frozen):  # as the training stack saw it: normalised with the run's moments, flattened
            obs = obs if frozen is None else frozen.normalize(None, obs)
            return obs if flatten is None else flatten.flatten(obs)

        seeds.append((one.agent, update, prepare))
    return agent, seeds, raw_space, env.unwrapped.action_space


def _pbt_population(parts, record, run_dir, best: bool):
    """``(members' train states [P, ...], update, best member)`` from a PBT run's ``pbt.ckpt``; with
    ``best`` the best member is ``search.yml``'s (the best final evaluation, written at the end),
    else None."""
    from lagomjax.experiment.pbt import PBTState
    from lagomjax.train.search_cli import PBT_CHECKPOINT

    search, run_dir = record["search"], Path(run_dir)
    member = _best_trial(run_dir) if best else None
    if best and member is None:
        raise ValueError(f"{run_dir}: this PBT run has not finished, so it has no best member yet")
    population = search["population"]
    members = jax.eval_shape(jax.vmap(parts.init), jax.random.split(jax.random.key(0), population))
    hparams = {name: jax.ShapeDtypeStruct((population,), jnp.float32) for name in search["space"]}
    like = PBTState(members, hparams, jax.eval_shape(lambda: jax.random.key(0)))
    saved = ckpt.load(run_dir / PBT_CHECKPOINT)
    state = ckpt.from_host(like, saved["state"])
    return state.members, int(saved["extra"]["next_interval"]) * search["interval"], member


def _find(env, kind):
    """The first wrapper of type ``kind`` in ``env``'s chain, or None."""
    while env is not None:
        if isinstance(env, kind):
            return env
        env = getattr(env, "env", None)
    return None


def evaluate_run(run_dir, episodes: int = 16, seed_index: int = 0, key=0, best: bool = False,
                 stochastic: bool = False) -> np.ndarray:  # fmt: skip
    """Returns of ``episodes`` episodes of the run's policy (:func:`evaluate_policy`); ``best`` and
    ``stochastic`` as :func:`load_policy` (the action noise seeded by ``key`` too)."""
    return evaluate_policy(load_policy(run_dir, seed_index, best, stochastic, key), episodes, key)


def evaluate_policy(policy: Policy, episodes: int = 16, key=0) -> np.ndarray:
    """Returns of ``episodes`` episodes of a loaded policy: on a functional environment one jitted
    program; on a gymnasium id one episode after another (``key`` seeds the environments)."""
    if not envs.is_registered(policy.env_id):
        return _evaluate_gymnasium(policy, episodes, key)
    env = envs.make(policy.env_id, num_envs=episodes, auto_reset=False, **env_kwargs(policy.config))  # first episodes
    if isinstance(env.action_space, gym.spaces.Box):
        env = envs.RescaleAction(env)
    limit = envs.time_limit(policy.env_id)
    _, returns, _ = envs.evaluate(env, policy.act_unit, jax.random.key(key), limit, policy.init_policy_state)
    return np.asarray(returns)


def _evaluate_gymnasium(policy: Policy, episodes: int, key: int) -> np.ndarray:
    """One episode after another on gymnasium's env (seeds ``key * 100003 + i``)."""
    from lagomjax.envs.gym_wrappers import play_episode

    seeds = [int(key) * 100_003 + i for i in range(episodes)]
    kwargs = env_kwargs(policy.config)
    return np.asarray([play_episode(policy.env_id, policy.act_unit, s, **kwargs)[0] for s in seeds], np.float32)
