"""Short learning tests for every baseline (fixed seed, threshold far above a random policy), the
train(key) contract, dtype-stable states, no recompiles, and the gymnasium runner path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import load_example

from lagomjax.baselines import driver, gym_loop

vpg, dqn, ddpg, td3, sac, es_policy = (load_example(n) for n in ("vpg", "dqn", "ddpg", "td3", "sac", "es_policy"))

# (module, config overrides, threshold on the deterministic evaluation). Random play scores about 22
# on CartPole-v1 and about -1200 on Pendulum-v1.
SHORT_RUNS = {
    "a2c": (vpg, {"total_steps": 200_000}, 300.0),
    "dqn": (dqn, {"total_steps": 20_000, "hidden_sizes": (64, 64)}, 60.0),
    "dqn_per": (dqn, {"total_steps": 20_000, "hidden_sizes": (64, 64), "prioritized": True}, 60.0),
    "ddpg": (ddpg, {"total_steps": 6_000}, -400.0),
    "td3": (td3, {"total_steps": 6_000}, -400.0),
    "sac": (sac, {"total_steps": 6_000}, -400.0),
    "cmaes_policy": (es_policy, {"generations": 40}, 475.0),
    "cem_policy": (es_policy, {"strategy": "cem", "generations": 30}, 300.0),
    "openai_es_policy": (es_policy, {"strategy": "openai_es", "generations": 30, "popsize": 32}, 60.0),
}


@pytest.mark.parametrize("name", list(SHORT_RUNS))
def test_learns_short(name):
    module, overrides, threshold = SHORT_RUNS[name]
    config = module.Config(**overrides)
    _, metrics = jax.jit(module.make_train(config))(jax.random.key(0))
    assert metrics["env_steps"].shape == (config.num_updates,)
    assert np.all(np.diff(np.asarray(metrics["env_steps"])) > 0)
    assert float(metrics["eval_return"]) >= threshold, (name, float(metrics["eval_return"]))


def test_recurrent_vpg_replays_its_rollout_and_learns():
    """The LSTM policy's log-probs recomputed by backprop-through-time over the rollout equal the
    ones it acted with (carries zeroed at the same episode ends), and it learns."""
    config = vpg.Config(lstm_size=32, num_steps=16, total_steps=100_000)
    _, metrics = jax.jit(vpg.make_train(config))(jax.random.key(0))
    assert float(np.max(metrics["replay_logp_err"])) < 1e-4
    assert float(metrics["eval_return"]) >= 60.0, float(metrics["eval_return"])


@pytest.mark.parametrize("module", [vpg, dqn, ddpg, td3, sac, es_policy], ids=lambda m: m.__name__)
def test_state_dtypes_are_stable(module):
    """``update`` returns a state with the same structure, shapes and dtypes (checked abstractly)."""
    config = module.Config(**({"total_steps": 2_000} if hasattr(module.Config, "total_steps") else {}))
    parts = module.make_parts(config)
    state = jax.eval_shape(parts.init, jax.random.key(0))
    new_state, metrics = jax.eval_shape(parts.update, state, jnp.int32(0))
    same = jax.tree.map(lambda a, b: (a.shape, a.dtype) == (b.shape, b.dtype), state, new_state)
    assert all(jax.tree.leaves(same))
    assert {"env_steps", "episode_return"} <= set(metrics)


def test_vmapped_seeds_no_recompile_and_chunked_equals_one_program():
    config = td3.Config(total_steps=1_200, learning_starts=500, eval_episodes=2)
    train = jax.jit(jax.vmap(td3.make_train(config)))
    keys = jax.random.split(jax.random.key(3), 2)
    _, m1 = train(keys)
    _, m2 = train(jax.random.split(jax.random.key(4), 2))
    assert train._cache_size() == 1
    assert m1["eval_return"].shape == (2,) and not np.allclose(m1["eval_return"], m2["eval_return"])
    _, chunked, _ = driver.run_seeds(td3.make_parts(config), config, 2, seed=3, progress=False)
    for key in ("env_steps", "critic_loss", "eval_return"):
        np.testing.assert_allclose(chunked[key], m1[key], rtol=1e-3, atol=1e-3)


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
    from lagomjax.runner import StepRunner

    env = gym_loop.make_vector_env("Pendulum-v1", 2, seed=0)  # truncates after 200 steps
    agent = vpg.make_agent(vpg.Config(env_id="Pendulum-v1"), env.single_action_space)
    state = agent.init(jax.random.key(0), jnp.zeros((2, 3)))
    actor = gym_loop.JaxAgent(agent, state, jax.random.key(1))
    runner, running = StepRunner(reset_on_call=False), np.zeros(2)
    ros = [gym_loop.to_rollout(runner(actor, env, 150), 2, 150, ["value", "logp"], running) for _ in range(2)]
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
    env.close()


def test_configs_reject_bad_values():
    with pytest.raises(ValueError, match="total_steps"):
        dqn.Config(total_steps=10)
    with pytest.raises(ValueError, match="buffer_size"):
        dqn.Config(buffer_size=100)
    with pytest.raises(ValueError, match="strategy"):
        es_policy.Config(strategy="nes")


def test_command_line_writes_lagom_layout(tmp_path):
    metrics, timing = es_policy.main(
        ["--env", "CartPole-v1", "--num-seeds", "2", "--generations", "3", "--log-dir", str(tmp_path)]
    )
    assert (tmp_path / "configs.pkl").exists() and (tmp_path / "0" / "config.yml").exists()
    assert (tmp_path / "0" / "0" / "train_logs.pkl").exists() and (tmp_path / "0" / "1" / "train_logs.pkl").exists()
    assert (tmp_path / "es_policy_learning_curve.png").exists()
    assert metrics["episode_return"].shape == (2, 3) and timing["env_steps_per_s"] > 0
