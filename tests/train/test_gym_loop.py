"""The gymnasium runner path: the same Agent trained through lagom's StepRunner on gymnasium envs."""

import jax
import jax.numpy as jnp
import numpy as np

from lagomjax.algos import vpg
from lagomjax.runner import StepRunner
from lagomjax.train import gym_loop


def test_gymnasium_runner_path_learns_cartpole():
    """The same A2C agent trained through lagom's StepRunner on gymnasium's own CartPole-v1."""
    config = vpg.Config(total_steps=30_000)
    _, metrics, timing = gym_loop.train_gym(config, vpg.make_agent, jax.random.key(0), progress=False)
    assert metrics["env_steps"][-1] == config.num_updates * config.num_envs * config.num_steps
    returns = metrics["episode_return"]
    assert np.nanmean(returns[-50:]) > 2 * np.nanmean(returns[:50])
    assert metrics["eval_return"] > 60.0, metrics["eval_return"]
    assert timing["env_steps_per_s"] > 0


def test_gym_rollout_keeps_flags_apart_and_true_final_obs():
    """Trajectories from a vector env become a [T, B] rollout: next_obs is obs[t+1] inside an
    episode and the true final observation where one ended; returns accumulate across calls."""
    env = gym_loop.make_vector_env("Pendulum-v1", 2, seed=0)  # truncates after 200 steps
    agent = vpg.make_agent(vpg.Config(env_id="Pendulum-v1"), env.single_action_space)
    state = agent.init(jax.random.key(0), jnp.zeros((2, 3)))
    actor = gym_loop.JaxAgent(agent, state, jax.random.key(1), env)
    treedef = jax.tree.structure(jax.eval_shape(agent.act, state, jax.random.key(1), jnp.zeros((2, 3)), ())[1])
    runner, running = StepRunner(reset_on_call=False), np.zeros(2)
    ros = [gym_loop.to_rollout(runner(actor, env, 150), 2, 150, treedef, running) for _ in range(2)]
    obs = np.concatenate([np.asarray(r.obs) for r in ros])
    next_obs = np.concatenate([np.asarray(r.next_obs) for r in ros])
    rewards = np.concatenate([np.asarray(r.rewards) for r in ros])
    truncated = np.concatenate([np.asarray(r.truncated) for r in ros])
    terminated = np.concatenate([np.asarray(r.terminated) for r in ros])
    assert truncated[199].all() and truncated.sum() == 2 and not terminated.any()
    np.testing.assert_allclose(next_obs[:199], obs[1:200], rtol=1e-6)
    np.testing.assert_allclose(next_obs[200:-1], obs[201:], rtol=1e-6)
    assert not np.allclose(next_obs[199], obs[200])  # the true final obs, not the reset one
    done = np.concatenate([np.asarray(r.info["episode_done"]) for r in ros])
    ret = np.concatenate([np.asarray(r.info["episode_return"]) for r in ros])
    assert done[199].all()
    np.testing.assert_allclose(ret[199], rewards[:200].sum(0), rtol=1e-4)
    assert ros[0].extras["logp"].shape == (150, 2) and ros[0].extras["policy_state"] == ()
    env.close()


def test_recurrent_policy_state_is_zeroed_where_a_sub_env_ended():
    """A recurrent JaxAgent starts every episode of every sub-environment from the zero state, and
    a bootstrap call on final observations (``last_info=True``) does not advance it."""
    config = vpg.Config(lstm_size=4)
    env = gym_loop.make_vector_env("CartPole-v1", 3, seed=0)
    agent = vpg.make_agent(config, env.single_action_space)
    state = agent.init(jax.random.key(0), jnp.zeros((3, 4)))
    actor = gym_loop.JaxAgent(agent, state, jax.random.key(1), env)
    treedef = jax.tree.structure(
        jax.eval_shape(agent.act, state, jax.random.key(1), jnp.zeros((3, 4)), actor.policy_state)[1]
    )
    ro = gym_loop.to_rollout(StepRunner(reset_on_call=False)(actor, env, 60), 3, 60, treedef, np.zeros(3))
    c, h = (np.asarray(x) for x in ro.extras["policy_state"])  # [T, B, 4]: the state each step started from
    done = np.asarray(ro.terminated | ro.truncated)
    starts = np.concatenate([np.ones((1, 3), bool), done[:-1]])
    assert done.any() and (~starts).any()
    assert np.all(c[starts] == 0) and np.all(h[starts] == 0)
    assert np.all(np.abs(h[~starts]).sum(-1) > 0)
    before = jax.tree.map(np.asarray, actor.policy_state)
    actor.choose_action(np.zeros((3, 4), np.float32), last_info=True)
    jax.tree.map(np.testing.assert_array_equal, before, jax.tree.map(np.asarray, actor.policy_state))
    env.close()


def test_gymnasium_path_checkpoints_and_resumes(tmp_path):
    """Stopped between updates, then resumed: the agent continues from its saved state (the Python
    envs restart fresh, so this path is documented as not bit-identical)."""
    import jax
    import numpy as np
    import pytest

    from lagomjax import checkpoint
    from lagomjax.algos import vpg
    from lagomjax.train import gym_loop

    config = vpg.Config(num_envs=2, num_steps=8, total_steps=2 * 8 * 6, eval_episodes=2)
    path, best = tmp_path / "gym.ckpt", tmp_path / "gym.best.ckpt"
    calls, seen = iter(range(100)), []
    evals = {"eval_every": 2, "best_checkpoint": best, "on_eval": lambda u, steps, ret: seen.append((u, steps, ret))}
    _, part, timing = gym_loop.train_gym(config, vpg.make_agent, jax.random.key(0), progress=False, checkpoint=path,
                                         should_stop=lambda: next(calls) >= 3, **evals)  # fmt: skip
    assert not timing["finished"] and len(part["env_steps"]) == 3
    assert checkpoint.load(path)["extra"]["next_update"] == 3
    _, full, timing = gym_loop.train_gym(config, vpg.make_agent, jax.random.key(0), progress=False, checkpoint=path,
                                         **evals)  # fmt: skip
    assert timing["finished"] and np.isfinite(full["eval_return"])
    # evaluated after every 2nd update, across the stop; the last evaluation is the final one
    np.testing.assert_array_equal(np.flatnonzero(np.isfinite(full["eval_episode_return"])), [1, 3, 5])
    assert [u for u, _, _ in seen] == [1, 3, 5] and [s for _, s, _ in seen] == [32, 64, 96]
    assert full["eval_episode_return"][5] == pytest.approx(full["eval_return"])
    kept = checkpoint.load(best)["extra"]  # the best evaluation's state
    returns = [r for *_, r in seen]
    assert kept["return"] == max(returns) and kept["update"] == seen[int(np.argmax(returns))][0]
    # timed: this call's updates after its first (compiling) one, 2 of the 3 left
    assert timing["env_steps_per_s"] * timing["run_s"] == pytest.approx(2 * 16)
    np.testing.assert_array_equal(full["env_steps"], np.arange(1, 7) * 16)
    np.testing.assert_array_equal(full["v_loss"][:3], part["v_loss"])
    assert checkpoint.load(path)["extra"]["next_update"] == 6
    with pytest.raises(ValueError, match="config.lr"):
        gym_loop.train_gym(vpg.Config(num_envs=2, num_steps=8, total_steps=96, lr=0.1), vpg.make_agent,
                           jax.random.key(0), progress=False, checkpoint=path)  # fmt: skip


def test_observations_that_are_not_a_box_reach_the_networks_flattened():
    """Discrete (FrozenLake) and Tuple (Blackjack) observations are one-hot vectors, gymnasium's own
    flattening of what the env returned; a Discrete action reaches a toy-text env as an int."""
    import gymnasium as gym

    from lagomjax.envs.gym_wrappers import play_episode

    for env_id, size in (("FrozenLake-v1", 16), ("Blackjack-v1", 32 + 11 + 2)):
        env = gym_loop.make_vector_env(env_id, 2, seed=5)
        assert env.single_observation_space == gym.spaces.Box(0, 1, (size,), np.int64)
        raw = gym.make(env_id)
        first, _ = raw.reset(seed=5)
        obs, _ = env.reset(seed=5)
        np.testing.assert_array_equal(obs[0], gym.spaces.flatten(raw.observation_space, first))
        assert obs.sum(axis=1).tolist() == [len(raw.observation_space)] * 2 if env_id == "Blackjack-v1" else [1, 1]
        env.close()
    ret, length, _ = play_episode("FrozenLake-v1", lambda obs, p: (np.asarray(1), p), seed=0)  # always down
    assert length >= 1 and ret in (0.0, 1.0)


def test_ppo_learns_frozen_lake_through_one_hot_observations():
    """4x4 FrozenLake without slipping (``env_kwargs``): the first rollouts reach the goal in about 1%
    of episodes; 8k steps of PPO on the one-hot states reach it in every greedy episode (at keys 0-3).
    The slippery lake is left out: its greedy success after 16k steps swung from 0.09 to 0.88 across
    keys and moved with the machine's floating point, too noisy for a threshold."""
    from lagomjax.algos import ppo

    config = ppo.Config(env_id="FrozenLake-v1", env_kwargs="{is_slippery: false}", total_steps=8192, num_envs=8,
                        num_steps=64, eval_episodes=8, lr=3e-3)  # fmt: skip
    _, metrics, _ = gym_loop.train_gym(config, ppo.make_agent, jax.random.key(0), progress=False)
    assert np.nanmean(metrics["episode_return"][:3]) < 0.1 and metrics["eval_return"] == 1.0, metrics


def test_seeds_resumed_with_another_evaluation_cadence_stack_with_nan(tmp_path):
    """Seeds run one after another: stopped in seed 1, resumed with evaluations on, seed 0 (finished
    without any) and seed 1 (evaluated from the resume on) stack, NaN where nothing was evaluated."""
    import jax  # noqa: F401
    import numpy as np

    from lagomjax.algos import vpg
    from lagomjax.train import gym_loop

    config = vpg.Config(num_envs=2, num_steps=8, total_steps=2 * 8 * 4, eval_episodes=2)
    calls = iter(range(100))
    _, timing = gym_loop.run_seeds_gym(config, vpg.make_agent, 2, progress=False, checkpoint_dir=tmp_path,
                                       should_stop=lambda: next(calls) >= 6)  # fmt: skip
    assert not timing["finished"]
    metrics, timing = gym_loop.run_seeds_gym(config, vpg.make_agent, 2, progress=False, checkpoint_dir=tmp_path,
                                             eval_every=2)  # fmt: skip
    assert timing["finished"] and metrics["eval_episode_return"].shape == (2, 4)
    np.testing.assert_array_equal(np.isfinite(metrics["eval_episode_return"]), [[0, 0, 0, 0], [0, 0, 0, 1]])
    assert (tmp_path / "gym_seed_1.best.ckpt").exists() and not (tmp_path / "gym_seed_0.best.ckpt").exists()
