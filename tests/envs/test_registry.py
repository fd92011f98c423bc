"""The environment registry: register / make / spec / registered, a user's own environment end to
end (rollout, PPO, drawing hook), SelectObservation, and clear errors."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import envs, vis


class Counter(envs.JaxEnv):
    """A toy environment: the state counts steps; action 1 earns 1; terminates at ``limit``."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, limit=5):
        self.limit = limit

    def reset(self, key):
        return jnp.zeros((), jnp.int32), jnp.zeros(1, jnp.float32)

    def step(self, key, state, action):
        state = state + 1
        return (
            state,
            state[None].astype(jnp.float32),
            action.astype(jnp.float32),
            state >= self.limit,
            jnp.zeros((), bool),
            {},
        )


@pytest.fixture
def counter_id():
    name = "TestCounter-v0"
    draw = lambda state: np.zeros((4, 4, 3), np.uint8)  # noqa: E731
    envs.register(name, Counter, max_episode_steps=3, kwargs={"limit": 5}, render=draw, overwrite=True)
    yield name
    envs.registry._REGISTRY.pop(name, None)


def test_builtin_ids_and_specs():
    twins = {"CartPole-v1", "CartPoleNoVel-v1", "Pendulum-v1", "Acrobot-v1", "MountainCar-v0"}
    twins.add("MountainCarContinuous-v0")
    assert twins <= set(envs.registered())
    assert envs.spec("CartPole-v1").max_episode_steps == 500 and envs.time_limit("Pendulum-v1") == 200
    assert envs.spec("Pendulum-v1").render is not None and envs.is_registered("CartPole-v1")
    assert not envs.is_registered("LunarLander-v3")  # a gymnasium id without a functional twin


def test_a_registered_env_gets_the_standard_stack(counter_id):
    env = envs.make(counter_id, num_envs=2)
    state, obs = env.reset(jax.random.key(0))
    policy = lambda k, o, p: (jnp.ones(o.shape[:1], jnp.int32), {}, p)  # noqa: E731
    (state, obs, _), ro = jax.jit(lambda s, o: envs.rollout(env, policy, jax.random.key(1), s, o, 7))(state, obs)
    # the registered time limit (3) truncates before the env's own terminal (5)
    assert ro.truncated[:, 0].tolist() == [False, False, True] * 2 + [False]
    assert not ro.terminated.any()
    np.testing.assert_array_equal(ro.next_obs[2, 0], [3.0])  # true final observation
    np.testing.assert_array_equal(ro.info["episode_return"][2], [3.0, 3.0])
    # make's kwargs and max_episode_steps override the registration
    longer = envs.make(counter_id, num_envs=1, max_episode_steps=10, limit=2)
    (_, _, _), ro = envs.rollout(longer, policy, jax.random.key(1), *longer.reset(jax.random.key(0)), 3)
    assert ro.terminated[:, 0].tolist() == [False, True, False]
    assert vis.render_frame(counter_id, jnp.int32(0)).shape == (4, 4, 3)


def test_ppo_trains_on_a_registered_env(counter_id):
    from lagomjax.algos import ppo

    config = ppo.Config(env_id=counter_id, num_envs=4, num_steps=32, total_steps=8 * 128, eval_episodes=4)
    _, metrics = jax.jit(ppo.make_train(config))(jax.random.key(0))
    assert float(metrics["eval_return"]) == 3.0  # always take the rewarding action, until truncation


def test_register_and_make_errors(counter_id):
    with pytest.raises(ValueError, match="already registered"):
        envs.register(counter_id, Counter)
    with pytest.raises(ValueError, match="max_episode_steps"):
        envs.register("Bad-v0", Counter, max_episode_steps=0)
    with pytest.raises(TypeError, match="make_fn"):
        envs.register("Bad-v0", 3)
    with pytest.raises(ValueError, match="no functional environment registered as 'Nope-v0'"):
        envs.make("Nope-v0")
    with pytest.raises(ValueError, match="max_episode_steps"):
        envs.make(counter_id, max_episode_steps=0)
    envs.register("NoLimit-v0", Counter)
    try:
        with pytest.raises(ValueError, match="time limit"):
            envs.time_limit("NoLimit-v0")
        with pytest.raises(ValueError, match="render"):
            vis.render_frame("NoLimit-v0", jnp.int32(0))
    finally:
        envs.registry._REGISTRY.pop("NoLimit-v0")


def test_cartpole_without_velocities_hides_them():
    full = envs.make("CartPole-v1", num_envs=3)
    masked = envs.make("CartPoleNoVel-v1", num_envs=3)
    key = jax.random.key(0)
    (s_full, o_full), (s_masked, o_masked) = full.reset(key), masked.reset(key)
    np.testing.assert_array_equal(o_masked, o_full[:, [0, 2]])
    assert masked.observation_space.shape == (2,)
    actions = jnp.array([0, 1, 1])
    out_full, out_masked = full.step(key, s_full, actions), masked.step(key, s_masked, actions)
    np.testing.assert_array_equal(out_masked[1], out_full[1][:, [0, 2]])
    np.testing.assert_array_equal(out_masked[5]["next_obs"], out_full[5]["next_obs"][:, [0, 2]])
    with pytest.raises(ValueError, match="indices"):
        envs.SelectObservation(envs.make("CartPole-v1"), [4])
