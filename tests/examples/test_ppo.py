"""examples/ppo.py: the pinned config, the train(key) contract, and a short learning test."""

import jax
import numpy as np
import pytest
from conftest import load_example

ppo = load_example("ppo")


def test_pinned_config_is_valid():
    config = ppo.Config(
        env_id="CartPole-v1", num_envs=4, num_steps=128, total_steps=500_000, update_epochs=4, num_minibatches=4,
        lr=2.5e-4, gamma=0.99, gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5,
    )  # fmt: skip
    assert config.num_updates == 976 and config.minibatch_size == 128
    with pytest.raises(ValueError, match="divisible"):
        ppo.Config(num_envs=3, num_steps=5, num_minibatches=4)


def test_learns_cartpole_short():
    """A fixed seed, 60k steps: the deterministic policy balances far above random (~22)."""
    config = ppo.Config(total_steps=60_000)
    state, metrics = jax.jit(ppo.make_train(config))(jax.random.key(0))
    assert metrics["env_steps"].shape == (config.num_updates,)
    assert int(metrics["env_steps"][-1]) == config.num_updates * config.batch_size
    assert float(metrics["eval_return"]) >= 300.0, float(metrics["eval_return"])
    returns = np.asarray(metrics["episode_return"])
    assert np.nanmean(returns[-10:]) > 3 * np.nanmean(returns[:5])


def test_vmapped_seeds_pendulum_and_chunked_driver_equals_one_program():
    from lagomjax.baselines import driver

    config = ppo.Config(
        env_id="Pendulum-v1", total_steps=6 * 512, normalize_obs=True, normalize_reward=True, eval_episodes=2
    )
    keys = jax.random.split(jax.random.key(1), 2)
    state, metrics = jax.jit(jax.vmap(ppo.make_train(config)))(keys)
    assert metrics["episode_return"].shape == (2, config.num_updates)
    # no Pendulum episode (200 steps x 4 envs) ends within the first update: NaN there, a value later
    assert np.isnan(metrics["episode_return"][0, 0]) and np.isfinite(metrics["episode_return"][0]).any()
    assert np.all(np.isfinite(metrics["eval_return"]))
    # the command-line driver runs the same updates in chunks: the same numbers
    _, chunked, timing = driver.run_seeds(ppo.make_parts(config), config, 2, seed=1, progress=False)
    # The same computation compiled as two programs (the chunked one also streams metrics to the
    # host): float32 rounding differs slightly and, through continuous actions and Pendulum's
    # dynamics, grows over updates. The first update agrees tightly, the end within a few percent.
    np.testing.assert_array_equal(chunked["env_steps"], metrics["env_steps"])
    for key in ("pg_loss", "v_loss", "entropy"):
        np.testing.assert_allclose(chunked[key][:, 0], metrics[key][:, 0], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(chunked["eval_return"], metrics["eval_return"], rtol=5e-2)
    assert timing["env_steps_per_s"] > 0
