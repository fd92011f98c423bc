"""Acrobot-v1, MountainCar-v0 and MountainCarContinuous-v0: the functional twins step as gymnasium's
NumPy environments from the same states with the same actions, terminating and truncating steps
included; their parameters are traceable; any FuncEnv registers in one line."""

import dataclasses

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import envs
from lagomjax.envs.classic_twins import MountainCarFunctional
from lagomjax.envs.functional import TimeLimitState


def pump(env_id, obs):
    """Energy pumping: push (or torque) along the velocity, so episodes reach their goal."""
    if env_id == "Acrobot-v1":
        return 2 if obs[5] > 0 else 0  # torque along the second joint's velocity
    if env_id == "MountainCar-v0":
        return 2 if obs[1] >= 0 else 0
    return np.asarray([1.0 if obs[1] >= 0 else -1.0], np.float32)


def random_action(env_id, rng):
    if env_id == "MountainCarContinuous-v0":
        return rng.uniform(-1.5, 1.5, size=(1,)).astype(np.float32)  # outside the bounds too
    return int(rng.integers(3))


CASES = [
    ("Acrobot-v1", "pump", None, "terminated"),
    ("Acrobot-v1", "random", 60, "truncated"),
    ("MountainCar-v0", "pump", None, "terminated"),
    ("MountainCar-v0", "random", None, "truncated"),
    ("MountainCarContinuous-v0", "pump", None, "terminated"),
    ("MountainCarContinuous-v0", "random", 150, "truncated"),
]


@pytest.mark.parametrize("env_id, policy, max_steps, ending", CASES)
def test_twin_matches_gymnasium_step_for_step(env_id, policy, max_steps, ending):
    ref = gym.make(env_id, max_episode_steps=max_steps) if max_steps else gym.make(env_id)
    ours = envs.make(env_id, auto_reset=False, episode_statistics=False, max_episode_steps=max_steps)
    step = jax.jit(ours.step)
    rng = np.random.default_rng(len(env_id))
    seen = {"terminated": 0, "truncated": 0}
    for episode in range(3):
        obs, _ = ref.reset(seed=episode)
        t = 0
        while True:
            state = TimeLimitState(jnp.asarray(np.asarray(ref.unwrapped.state), jnp.float32), jnp.int32(t))
            action = pump(env_id, obs) if policy == "pump" else random_action(env_id, rng)
            obs, reward, terminated, truncated, _ = ref.step(action)
            _, o, r, te, tr, _ = step(jax.random.key(t), state, jnp.asarray(action))
            t += 1
            assert o.dtype == jnp.float32 and r.dtype == jnp.float32
            np.testing.assert_allclose(o, obs, rtol=2e-5, atol=2e-5)
            np.testing.assert_allclose(float(r), reward, rtol=1e-5, atol=1e-6)
            assert bool(te) == terminated and bool(tr) == truncated, (t, te, tr)
            if terminated or truncated:
                seen["terminated" if terminated else "truncated"] += 1
                break
    assert seen[ending] > 0  # the ending steps were compared too


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0"])
def test_twin_initial_states_and_spaces_match_gymnasium(env_id):
    ref = gym.make(env_id)
    env = envs.make(env_id, num_envs=2000)
    state, obs = jax.jit(env.reset)(jax.random.key(0))
    assert env.observation_space == ref.observation_space and env.action_space == ref.action_space
    assert obs.shape == (2000, *ref.observation_space.shape) and obs.dtype == jnp.float32
    samples = np.stack([ref.reset(seed=i)[0] for i in range(300)])
    for j in range(obs.shape[1]):  # same support: the extremes agree within sampling error
        assert abs(float(obs[:, j].min()) - samples[:, j].min()) < 0.02
        assert abs(float(obs[:, j].max()) - samples[:, j].max()) < 0.02
    assert envs.time_limit(env_id) == ref.spec.max_episode_steps


def test_twins_are_jitted_vmapped_and_compile_once_across_episode_ends():
    for env_id in ["Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0"]:
        env = envs.make(env_id, num_envs=8, max_episode_steps=25)
        if isinstance(env.action_space, gym.spaces.Box):
            env = envs.RescaleAction(env)
        state, obs = env.reset(jax.random.key(0))
        run = jax.jit(lambda k, s, o, env=env: envs.rollout(env, envs.random_policy(env), k, s, o, 60))
        (state, obs, _), ro = run(jax.random.key(1), state, obs)
        (state, obs, _), ro = run(jax.random.key(2), state, obs)
        assert run._cache_size() == 1
        assert ro.rewards.shape == (60, 8) and bool(ro.truncated.any())
        dtypes = lambda tree: jax.tree.map(lambda x: x.dtype, tree)  # noqa: E731
        assert dtypes(state) == dtypes(env.reset(jax.random.key(0))[0])


def test_func_env_parameters_are_keyword_arguments_and_can_be_traced():
    weak = envs.make("MountainCar-v0", num_envs=4, auto_reset=False, force=0.0)  # no engine: never gets up
    assert weak.unwrapped.params.force == 0.0

    def final_position(force):  # built inside a traced function: the parameter is a tracer
        env = envs.make("MountainCar-v0", auto_reset=False, episode_statistics=False, force=force)
        state, _ = env.reset(jax.random.key(0))

        def step(s, k):
            s, obs, *_ = env.step(k, s, jnp.int32(2))
            return s, obs[0]

        return jax.lax.scan(step, state, jax.random.split(jax.random.key(1), 30))[1][-1]

    positions = jax.jit(jax.vmap(final_position))(jnp.asarray([0.0, 0.001, 0.002]))
    assert positions[0] < positions[1] < positions[2]  # a stronger engine gets further right


def test_any_func_env_registers_in_one_line():
    @dataclasses.dataclass(frozen=True)
    class Steep(MountainCarFunctional):
        pass

    envs.register("SteepCar-v0", Steep, 50, overwrite=True)
    env = envs.make("SteepCar-v0", num_envs=3, gravity=0.004)
    state, obs = env.reset(jax.random.key(0))
    state, obs, reward, terminated, truncated, info = env.step(jax.random.key(1), state, jnp.zeros(3, jnp.int32))
    assert obs.shape == (3, 2) and env.unwrapped.params.gravity == 0.004
    assert "next_obs" in info and not bool(truncated.any())
    with pytest.raises(TypeError, match="unexpected keyword"):
        envs.make("SteepCar-v0", wheels=4)


def test_func_envs_written_without_the_rng_argument_register_and_an_integer_box_action_is_refused():
    """gymnasium's own ``CliffWalkingFunctional`` writes ``observation``, ``reward`` and ``terminal``
    without FuncEnv's ``rng`` argument: such an env steps as the same env written with it. Cliff
    walking's actions are an integer ``Box``: the algorithms refuse it by name instead of treating it
    as a continuous action (which failed inside the compiled step on mismatched shapes)."""
    from gymnasium.envs.tabular.cliffwalking import CliffWalkingFunctional

    from lagomjax.algos import ppo, sac

    @dataclasses.dataclass(frozen=True)
    class NoRng(MountainCarFunctional):
        def observation(self, state, params=None):
            return super().observation(state, None, params)

        def reward(self, state, action, next_state, params=None):
            return super().reward(state, action, next_state, None, params)

        def terminal(self, state, params=None):
            return super().terminal(state, None, params)

    envs.register("TestNoRng-v0", NoRng, 50, overwrite=True)
    envs.register("TestWithRng-v0", MountainCarFunctional, 50, overwrite=True)
    outs = []
    for env_id in ("TestNoRng-v0", "TestWithRng-v0"):
        env = envs.make(env_id, num_envs=3)
        state, obs = env.reset(jax.random.key(0))
        outs.append((obs, *env.step(jax.random.key(1), state, jnp.asarray([0, 1, 2]))[1:5]))
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)

    envs.register("TestCliff-v0", CliffWalkingFunctional, 50, overwrite=True)
    _, obs = envs.make("TestCliff-v0", num_envs=2).reset(jax.random.key(0))
    np.testing.assert_array_equal(obs, [[36.0], [36.0]])  # the start, bottom-left: row 3 * 12
    for algo in (ppo, sac):
        with pytest.raises(TypeError, match=r"Box\(0, 3, \(1,\), int32\): an integer Box is a discrete choice"):
            algo.make_train(algo.Config(env_id="TestCliff-v0"))
    from lagomjax.algos.offpolicy import check_action_space
    from lagomjax.networks.actor_critic import policy_head

    integer_box = gym.spaces.Box(0, 3, (1,), np.int32)  # the library's own entry points, given it directly
    with pytest.raises(TypeError, match="an integer Box action space"):
        policy_head(integer_box, 8)
    with pytest.raises(ValueError, match="SAC needs a continuous action space, got an integer Box"):
        check_action_space("SAC", integer_box, gym.spaces.Box)
