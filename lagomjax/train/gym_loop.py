"""The Python runner path: any :class:`~lagomjax.train.agent.Agent` on any gymnasium id.

The environments are gymnasium vector envs stepped on the host by lagom's
:class:`~lagomjax.runner.StepRunner`; the agent's ``act`` and ``learn`` are the same pure functions
the functional path uses, each compiled once. The runner's trajectories are put back into the
time-major :class:`~lagomjax.envs.Rollout` that ``learn`` expects (true final observations where an
episode ended, ``terminated`` and ``truncated`` kept apart), so both paths train the same algorithm,
recurrent policies included (the policy state is zeroed for the sub-environments whose episode
ended). Use it for environments without a functional twin (MuJoCo, Atari, your own); seeds run one
after another.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from lagomjax import checkpoint as ckpt
from lagomjax.agent import BaseAgent
from lagomjax.envs.gym_wrappers import flatten_observations
from lagomjax.envs.registry import env_kwargs
from lagomjax.envs.rollout import Rollout
from lagomjax.runner import EpisodeRunner, StepRunner
from lagomjax.train.loop import all_finite, finished_episode_mean
from lagomjax.train.seeds import start_from, without_replay
from lagomjax.transform.ops import zero_where


class EpisodeEnds(gym.vector.VectorWrapper):
    """Remembers which sub-environments ended an episode in the last step (all of them after a
    reset): a recurrent agent zeroes their policy state before acting."""

    def reset(self, **kwargs):
        out = self.env.reset(**kwargs)
        self.ended = np.ones(self.num_envs, bool)
        return out

    def step(self, actions):
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        self.ended = np.logical_or(terminated, truncated)
        return obs, rewards, terminated, truncated, info


def make_vector_env(env_id: str, num_envs: int, seed: int | None = None, **make_kwargs) -> EpisodeEnds:
    """A synchronous gymnasium vector env with same-step auto-reset; observations that are not a Box
    flattened (:func:`~lagomjax.envs.gym_wrappers.flatten_observations`), Box actions rescaled to [-1, 1]."""
    single = gym.make(env_id, **make_kwargs)
    box = isinstance(single.action_space, gym.spaces.Box)
    single.close()
    wrappers = [flatten_observations]
    if box:
        wrappers.append(lambda e: gym.wrappers.RescaleAction(e, np.float32(-1), np.float32(1)))
    env = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        wrappers=wrappers,
        **make_kwargs,
    )
    env = EpisodeEnds(env)
    env.reset(seed=seed)
    return env


class JaxAgent(BaseAgent):
    """lagom's agent interface over an :class:`~lagomjax.train.agent.Agent`'s jitted ``act`` (or
    ``greedy``) on an :class:`EpisodeEnds` vector env. Extras (including the policy state each step
    started from) are returned flattened, ``extra0, extra1, ...`` (see :func:`to_rollout`)."""

    def __init__(self, agent, state, key, env: EpisodeEnds, greedy: bool = False):
        super().__init__({}, env)
        self.state, self.key, self.greedy = state, key, greedy
        self.policy_state = agent.init_policy_state((env.num_envs,))
        self._act = jax.jit(agent.act)
        self._greedy = jax.jit(agent.greedy)

    def choose_action(self, x, last_info: bool = False, **kwargs) -> dict:
        obs = jnp.asarray(x, jnp.float32)
        pstate = self.policy_state if last_info else zero_where(jnp.asarray(self.env.ended), self.policy_state)
        if self.greedy:
            action, new_pstate = self._greedy(self.state, obs, pstate)
            extras = {}
        else:
            self.key, key = jax.random.split(self.key)
            action, extras, new_pstate = self._act(self.state, key, obs, pstate)
        if not last_info:  # a bootstrap call on final observations does not advance the policy
            self.policy_state = new_pstate
        leaves = {f"extra{i}": np.asarray(v) for i, v in enumerate(jax.tree.leaves(extras))}
        return {"raw_action": np.asarray(action), **leaves}

    def learn(self, D, **kwargs):
        raise NotImplementedError("learning goes through Agent.learn on a Rollout (see to_rollout)")


def to_rollout(D, num_envs: int, num_steps: int, extras_treedef, running_returns: np.ndarray) -> Rollout:
    """Stack ``StepRunner``'s trajectories from a vector env (``num_steps`` per sub-env) into a
    ``[T, B]`` :class:`Rollout`; the agent's flattened extras are rebuilt with ``extras_treedef``.
    ``running_returns [B]`` carries unfinished episodes' returns across calls (updated in place);
    ``info`` has ``episode_done`` and ``episode_return`` as the functional path's ``EpisodeStatistics``."""
    columns = []
    n_extras = extras_treedef.num_leaves
    for b in range(num_envs):
        trajs = [traj for traj in D if traj.extra_info["env_index"] == b]  # in time order
        infos = [info for traj in trajs for info in traj.infos]
        if len(infos) != num_steps:
            raise RuntimeError(f"sub-env {b} gave {len(infos)} steps, expected {num_steps}")
        rewards = np.concatenate([traj.rewards for traj in trajs])
        terminated = np.asarray([info["terminated"] for info in infos])
        truncated = np.asarray([info["truncated"] for info in infos])
        done = terminated | truncated
        returns = np.empty(num_steps, np.float32)
        for t in range(num_steps):
            running_returns[b] += rewards[t]
            returns[t] = running_returns[b]
            if done[t]:
                running_returns[b] = 0.0
        extras = [np.stack([info[f"extra{i}"] for info in infos]) for i in range(n_extras)]
        columns.append(
            {
                "obs": np.concatenate([traj.observations[:-1] for traj in trajs]),
                "actions": np.concatenate([traj.actions for traj in trajs]),
                "rewards": rewards,
                "terminated": terminated,
                "truncated": truncated,
                "next_obs": np.concatenate([traj.observations[1:] for traj in trajs]),
                "extras": jax.tree.unflatten(extras_treedef, extras),
                "info": {"episode_done": done, "episode_return": returns},
            }
        )
    batch = jax.tree.map(lambda *xs: jnp.asarray(np.stack(xs, axis=1)), *columns)  # [T, B, ...]
    for k in ("obs", "next_obs", "rewards"):
        batch[k] = batch[k].astype(jnp.float32)
    return Rollout(**batch)


def env_seed(key) -> int:
    """The gymnasium seed a run's ``key`` gives its training environments (evaluation takes +1)."""
    return int(jax.random.randint(jax.random.fold_in(key, 7), (), 0, 2**31 - 1))


def init_agent(config, make_agent, key, observation_space, action_space, shapes_only: bool = False):
    """``(agent, initial state, acting key, checkpoint meta)`` of one gymnasium-path seed: what
    :func:`train_gym` starts from and what a saved ``gym_seed_<i>.ckpt`` is restored into
    (``shapes_only``: the state's shapes and dtypes from ``jax.eval_shape``, a restore target that
    compiles nothing)."""
    if isinstance(action_space, gym.spaces.Box):  # the algorithms act in [-1, 1] (make_vector_env rescales)
        action_space = gym.spaces.Box(-1.0, 1.0, action_space.shape, np.float32)
    agent = make_agent(config, action_space)
    k_init, k_act = jax.random.split(key, 4)[:2]
    obs0 = jnp.zeros((config.num_envs, *observation_space.shape), jnp.float32)
    state = jax.eval_shape(agent.init, k_init, obs0) if shapes_only else jax.jit(agent.init)(k_init, obs0)
    meta = {
        "path": "gymnasium",
        "key": np.asarray(jax.random.key_data(key)).tolist(),
        "config": ckpt.config_fingerprint(config),
    }
    return agent, state, k_act, meta


def restore_target(config, make_agent, key):
    """``(agent, state shapes, acting key, meta, observation space, action space)`` of one
    gymnasium-path seed, without stepping or compiling anything: what a ``gym_seed_<i>.ckpt`` is
    restored into (the spaces are what the run's agent read: observations flattened)."""
    single = flatten_observations(gym.make(config.env_id, **env_kwargs(config)))
    obs_space, act_space = single.observation_space, single.action_space
    single.close()
    agent, like, k_act, meta = init_agent(config, make_agent, key, obs_space, act_space, shapes_only=True)
    return agent, like, k_act, meta, obs_space, act_space


def checkpoint_path(run_dir, seed_index: int, best: bool = False) -> Path:
    """Where seed ``seed_index`` of a gymnasium-path run checkpoints in ``run_dir`` (``best``: its
    state at its best periodic evaluation, less any replay buffer)."""
    return Path(run_dir) / f"gym_seed_{seed_index}{'.best' if best else ''}.ckpt"


def evaluate_gym(agent, state, env_id: str, episodes: int, seed: int, **make_kwargs) -> np.ndarray:
    """Returns of ``episodes`` deterministic episodes of ``agent.greedy`` on gymnasium's ``env_id``
    (lagom's :class:`~lagomjax.runner.EpisodeRunner`, at most 8 environments at once)."""
    env = make_vector_env(env_id, min(episodes, 8), seed=seed, **make_kwargs)
    D = EpisodeRunner()(JaxAgent(agent, state, jax.random.key(0), env, greedy=True), env, episodes)
    env.close()
    return np.asarray([traj.rewards.sum() for traj in D], np.float32)


def train_gym(
    config,
    make_agent,
    key,
    progress: bool = True,
    on_nonfinite: str = "halt",
    checkpoint=None,
    checkpoint_seconds: float | None = None,
    should_stop=None,
    on_metrics=None,
    init_state=None,
    eval_every: int | None = None,
    on_eval=None,
    best_checkpoint=None,
):
    """Train one seed of ``make_agent(config, action_space)`` on gymnasium's ``config.env_id``.

    Returns ``(agent_state, metrics, timing)``; ``metrics`` hold per-update ``env_steps``,
    ``episode_return``, ``finite`` and the agent's own, plus ``eval_return`` over
    ``config.eval_episodes`` greedy episodes and ``halted_at``. Non-finite observations, rewards or
    agent state stop learning at the last finite state, as in
    :func:`~lagomjax.train.seeds.run_seeds` (``on_nonfinite='halt'``; ``'raise'``, ``'ignore'``).

    Checkpoints: with ``checkpoint`` (a path) the agent state, its acting key and the metrics so far
    are saved every ``checkpoint_seconds``, when ``should_stop()`` says so between updates (then
    ``timing['finished']`` is False) and at the end; an existing file is continued from. The
    gymnasium environments' Python internals are not saved: a resumed run continues the agent with
    freshly reset environments (seeded from the update it resumes at), so unlike the functional
    path it is not bit-identical to an uninterrupted run.

    ``on_metrics(update, metrics)`` gets every update's metrics as it finishes (a tracker's stream).
    ``init_state`` (an agent state, e.g. another run's) replaces ``agent.init``'s, as
    :func:`~lagomjax.train.seeds.run_seeds`' does (learning-rate annealing restarted); a checkpoint
    being resumed takes precedence.

    Periodic evaluation (RL Zoo's ``EvalCallback``): with ``eval_every`` the greedy policy plays
    ``config.eval_episodes`` episodes after every ``eval_every``-th update and the last (the same
    episodes as the final evaluation, which the last one is): ``metrics['eval_episode_return']``
    holds their mean at those updates, NaN elsewhere, and ``on_eval(update, env_steps, return)``
    gets it as it comes. With ``best_checkpoint`` (a path) the agent state at the best evaluation so
    far, less any replay buffer, is saved there (``extra``: its ``return`` and ``update``).
    """
    if on_nonfinite not in ("halt", "raise", "ignore"):
        raise ValueError(f"on_nonfinite must be 'halt', 'raise' or 'ignore', got {on_nonfinite!r}")
    from tqdm.auto import tqdm

    seed, make_kwargs = env_seed(key), env_kwargs(config)
    env = make_vector_env(config.env_id, config.num_envs, seed=seed, **make_kwargs)
    t0 = time.perf_counter()
    agent, state, k_act, meta = init_agent(config, make_agent, key, env.single_observation_space,
                                           env.single_action_space)  # fmt: skip
    k_learn = jax.random.split(key, 4)[2]
    obs0 = jnp.zeros((config.num_envs, *env.single_observation_space.shape), jnp.float32)
    actor = JaxAgent(agent, state, k_act, env)
    _, extras, _ = jax.eval_shape(agent.act, state, k_act, obs0, actor.policy_state)
    extras_treedef = jax.tree.structure(extras)
    learn = jax.jit(agent.learn)
    finite = jax.jit(lambda ro, s: all_finite((ro.obs, ro.rewards, s)))
    halted_at, rows, start = -1, [], 0
    if init_state is not None:
        state = actor.state = start_from(state, init_state, "agent state")
    if checkpoint is not None and Path(checkpoint).exists():
        (state, actor.key), saved = ckpt.restore(checkpoint, (state, actor.key), meta)
        actor.state = state
        rows, start, halted_at = saved["rows"], int(saved["next_update"]), int(saved["halted_at"])
        env.close()
        env = make_vector_env(config.env_id, config.num_envs, seed=seed + start, **make_kwargs)
        actor.env = env
    runner = StepRunner(reset_on_call=False)
    running = np.zeros(config.num_envs, np.float64)
    compile_s, last_save, stopped, ran = None, time.perf_counter(), False, 0
    best_return, final = -math.inf, None  # final: the last update's evaluation, the run's final one
    if best_checkpoint is not None and start > 0 and Path(best_checkpoint).exists():
        best_return = float(ckpt.check(best_checkpoint, meta)["extra"]["return"])

    def evaluate(i):  # the greedy policy now: into the metrics, the trackers and, if it is the best, best_checkpoint
        nonlocal best_return
        ret = float(np.mean(evaluate_gym(agent, state, config.env_id, config.eval_episodes, seed + 1, **make_kwargs)))
        rows[-1]["eval_episode_return"] = ret
        if on_eval is not None:
            on_eval(i, rows[-1]["env_steps"], ret)
        if best_checkpoint is not None and ret > best_return and halted_at < 0:
            best_return = ret
            ckpt.save(best_checkpoint, without_replay(state), meta, **{"return": ret, "update": i})
        return ret

    def save(next_update):
        if checkpoint is not None:
            ckpt.save(checkpoint, (state, actor.key), meta, rows=rows, next_update=next_update, halted_at=halted_at)

    bar = tqdm(total=config.num_updates, desc=f"{config.env_id} (gymnasium)", unit="update", disable=not progress)
    bar.update(start)
    for i in range(start, config.num_updates):
        if should_stop is not None and should_stop():
            save(i)
            stopped = True
            break
        D = runner(actor, env, config.num_steps)
        ro = to_rollout(D, config.num_envs, config.num_steps, extras_treedef, running)
        new, m = learn(state, ro, jax.random.fold_in(k_learn, i), jnp.int32(i))
        ok = bool(finite(ro, new))
        if not ok and halted_at < 0 and on_nonfinite != "ignore":
            if on_nonfinite == "raise":
                raise FloatingPointError(f"non-finite values in training at update {i} ({config.env_id})")
            halted_at = i
        state = state if halted_at >= 0 else new
        actor.state = state
        m = {k: math.nan if halted_at >= 0 else float(v) for k, v in m.items()}
        ret = math.nan if halted_at >= 0 else float(finished_episode_mean(ro.info))
        rows.append({"env_steps": (i + 1) * ro.rewards.size, "episode_return": ret, "finite": ok, **m})
        if on_metrics is not None:
            on_metrics(i, rows[-1])
        if eval_every:
            rows[-1]["eval_episode_return"] = math.nan
            if (i + 1) % eval_every == 0 or i + 1 == config.num_updates:
                ret = evaluate(i)
                final = ret if i + 1 == config.num_updates else None
        ran += 1
        if compile_s is None:
            compile_s = time.perf_counter() - t0
            t0 = time.perf_counter()
        bar.update(1)
        if checkpoint_seconds is not None and time.perf_counter() - last_save >= checkpoint_seconds:
            save(i + 1)
            last_save = time.perf_counter()
        if halted_at >= 0:  # the rest of the run is NaN rows: no point stepping a frozen policy
            steps = ro.rewards.size
            for j in range(i + 1, config.num_updates):
                rows.append({**rows[-1], "env_steps": (j + 1) * steps, "finite": False})
                if eval_every:
                    rows[-1]["eval_episode_return"] = math.nan
                if on_metrics is not None:
                    on_metrics(j, rows[-1])
            break
    run_s = time.perf_counter() - t0 if compile_s is not None else 0.0  # 0: no update ran in this call
    compile_s = compile_s or 0.0
    bar.close()
    env.close()
    keys = list(dict.fromkeys(k for r in rows for k in r))  # a resume may have changed the evaluation cadence
    metrics = {k: np.asarray([r.get(k, math.nan) for r in rows]) for k in keys}
    if stopped:
        return state, metrics, {"compile_s": compile_s, "run_s": run_s, "env_steps_per_s": 0.0, "finished": False}
    save(config.num_updates)
    if final is None:
        final = np.mean(evaluate_gym(agent, state, config.env_id, config.eval_episodes, seed + 1, **make_kwargs))
    metrics["eval_return"] = np.float32(final)
    metrics["halted_at"] = np.int64(halted_at)
    steps = max(ran - 1, 0) * config.num_envs * config.num_steps  # timed: the updates of this call after the first
    timing = {"compile_s": compile_s, "run_s": run_s, "env_steps_per_s": steps / max(run_s, 1e-9), "finished": True}
    return state, metrics, timing


def run_seeds_gym(
    config,
    make_agent,
    num_seeds: int,
    seed: int = 0,
    progress: bool = True,
    checkpoint_dir=None,
    checkpoint_seconds: float | None = None,
    should_stop=None,
    on_metrics=None,
    init_state=None,
    eval_every: int | None = None,
    on_eval=None,
):
    """:func:`train_gym` for ``num_seeds`` seeds one after another; metrics stacked ``[seeds, ...]``.
    With ``checkpoint_dir`` each seed checkpoints to ``gym_seed_<i>.ckpt`` there (finished seeds are
    only re-evaluated on resume); if ``should_stop()`` stops a seed, ``timing['finished']`` is False.
    ``on_metrics(seed_index, update, metrics)``: every update of every seed as it finishes (the
    compiled path's tracker callback, :mod:`lagomjax.train.trackers`). ``init_state``: agent states
    with a leading seed axis, seed ``i`` starting from ``init_state[i]``. ``eval_every``: periodic
    evaluation, ``on_eval(seed_index, update, env_steps, return)`` and, with ``checkpoint_dir``, each
    seed's best state in ``gym_seed_<i>.best.ckpt`` (:func:`train_gym`)."""
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    runs = []
    for i, k in enumerate(keys):
        path = None if checkpoint_dir is None else checkpoint_path(checkpoint_dir, i)
        stream = None if on_metrics is None else lambda u, m, i=i: on_metrics(i, u, m)
        evals = None if on_eval is None else lambda u, steps, ret, i=i: on_eval(i, u, steps, ret)
        start = None if init_state is None else jax.tree.map(lambda x, i=i: x[i], init_state)
        best = None if checkpoint_dir is None else checkpoint_path(checkpoint_dir, i, best=True)
        runs.append(train_gym(config, make_agent, k, progress, checkpoint=path, checkpoint_seconds=checkpoint_seconds,
                              should_stop=should_stop, on_metrics=stream, init_state=start, eval_every=eval_every,
                              on_eval=evals, best_checkpoint=best))  # fmt: skip
        if not runs[-1][2]["finished"]:
            return {}, {**runs[-1][2], "finished": False}
    keys = dict.fromkeys(k for _, m, _ in runs for k in m)  # a seed resumed with another --eval-every: NaN
    metrics = {k: np.stack([m.get(k, np.full(len(m["env_steps"]), np.nan)) for _, m, _ in runs]) for k in keys}
    timing = {
        "finished": True,
        "compile_s": float(np.mean([t["compile_s"] for *_, t in runs])),
        "run_s": float(sum(t["run_s"] for *_, t in runs)),
        "env_steps_per_s": float(np.mean([t["env_steps_per_s"] for *_, t in runs])),
    }
    return metrics, timing
