"""Multi-discrete actions: the head's log-probabilities and entropy against a plain NumPy loop, its
mode per dimension, and PPO learning a multi-discrete task."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from lagomjax import envs, networks


def test_multi_categorical_head_matches_per_dimension_categoricals():
    head = networks.MultiCategoricalHead(feature_dim=6, nvec=(3, 5, 2))
    x = jax.random.normal(jax.random.key(0), (4, 6))
    params = head.init(jax.random.key(1), x)
    params = jax.tree.map(lambda p: p * 300.0, params)  # sharpen the near-uniform start
    dist = jax.jit(head.apply)(params, x)
    logits = np.asarray(x @ params["params"]["Dense_0"]["kernel"] + params["params"]["Dense_0"]["bias"], np.float64)
    actions = np.asarray([[0, 4, 1], [2, 0, 0], [1, 3, 1], [2, 2, 0]])
    for b in range(4):
        logp, entropy, start = 0.0, 0.0, 0
        for d, n in enumerate((3, 5, 2)):
            z = logits[b, start : start + n]
            log_probs = z - np.log(np.exp(z - z.max()).sum()) - z.max()
            logp += log_probs[actions[b, d]]
            entropy -= (np.exp(log_probs) * log_probs).sum()
            assert int(np.asarray(networks.mode(dist))[b, d]) == int(np.argmax(z))
            start += n
        np.testing.assert_allclose(dist.log_prob(actions)[b], logp, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(dist.entropy()[b], entropy, rtol=1e-4, atol=1e-4)
    samples = dist.sample(seed=jax.random.key(2), sample_shape=(500,))
    assert samples.shape == (500, 4, 3) and int(samples[..., 1].max()) <= 4 and int(samples[..., 2].max()) <= 1


class _Pick(envs.JaxEnv):
    """One-step episodes: reward 1 for each of three dimensions set to its target (1, 3, 0)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.MultiDiscrete([3, 5, 2])

    def reset(self, key):
        return jnp.int32(0), jnp.ones(2, jnp.float32)

    def step(self, key, state, action):
        reward = jnp.sum(action == jnp.asarray([1, 3, 0])).astype(jnp.float32)
        return state, jnp.ones(2, jnp.float32), reward, jnp.bool_(True), jnp.bool_(False), {}


def test_ppo_learns_a_multi_discrete_task():
    from lagomjax.algos import ppo

    envs.register("MultiPick-v0", _Pick, 1, overwrite=True)
    config = ppo.Config(env_id="MultiPick-v0", total_steps=8192, num_envs=8, num_steps=16, lr=3e-3,
                        hidden_sizes=(16,), eval_episodes=4)  # fmt: skip
    _, metrics = jax.jit(ppo.make_train(config))(jax.random.key(0))
    assert float(metrics["episode_return"][0]) < 1.3  # the untrained policy: 1/3 + 1/5 + 1/2 ~ 1.03
    assert float(metrics["eval_return"]) == 3.0
