"""Non-finite values in training: a NaN reward, observation or loss injected into one vmapped seed
stops that seed's learning at its last finite state (reported with the update where it appeared),
while the other seeds train on exactly as they would have; or the run raises, if asked."""

import math

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from lagomjax import envs
from lagomjax.algos import ppo, vpg
from lagomjax.checkpoint import to_host
from lagomjax.envs.functional import Wrapper
from lagomjax.train import Agent, gym_loop, run_seeds
from lagomjax.train.loop import functional_parts, make_envs

CONFIG = ppo.Config(total_steps=4 * 128 * 20, eval_episodes=2)  # 20 updates, chunks of 1
SEED, NUM_SEEDS, POISONED, AT_UPDATE = 0, 3, 1, 7


def _env_key(seed_index):
    """The key functional_parts resets seed ``seed_index``'s environments with."""
    return jax.random.split(jax.random.split(jax.random.key(SEED), NUM_SEEDS)[seed_index], 3)[1]


@struct.dataclass
class PoisonState:
    inner: object
    t: jnp.ndarray
    armed: jnp.ndarray


class Poison(Wrapper):
    """Turns the reward or observation NaN at one step of the seed whose reset key is ``target``."""

    def __init__(self, env, what, target, at_step):
        super().__init__(env)
        self.what, self.target, self.at_step = what, jax.random.key_data(target), at_step

    def reset(self, key):
        state, obs = self.env.reset(key)
        armed = jnp.all(jax.random.key_data(key) == self.target)
        return PoisonState(state, jnp.int32(0), armed), obs

    def step(self, key, state, action):
        inner, obs, reward, terminated, truncated, info = self.env.step(key, state.inner, action)
        hit = state.armed & (state.t == self.at_step)
        if self.what == "reward":
            reward = jnp.where(hit, jnp.nan, reward)
        else:
            obs = jnp.where(hit, jnp.nan, obs)
        return PoisonState(inner, state.t + 1, state.armed), obs, reward, terminated, truncated, info


def _nan_loss_agent(agent: Agent) -> Agent:
    """The agent whose update ``AT_UPDATE`` produces NaN parameters on the poisoned seed (as a NaN
    loss does through its gradient); the seed is recognised by its initial parameters."""
    target = to_host(_init_params(POISONED))

    def init(key, obs):
        state = agent.init(key, obs)
        mine = jnp.all(jnp.stack([jnp.all(a == b) for a, b in zip(jax.tree.leaves(state.params), target)]))
        return state, mine

    def learn(state, ro, key, i):
        inner, mine = state
        new, metrics = agent.learn(inner, ro, key, i)
        nan = mine & (i == AT_UPDATE)
        params = jax.tree.map(lambda p: jnp.where(nan, jnp.nan, p), new.params)
        return (new.replace(params=params), mine), metrics

    return agent._replace(
        init=init,
        learn=learn,
        act=lambda s, *a: agent.act(s[0], *a),
        greedy=lambda s, *a: agent.greedy(s[0], *a),
    )


def _init_params(seed_index):
    parts = ppo.make_parts(CONFIG)
    return jax.jit(parts.init)(jax.random.split(jax.random.key(SEED), NUM_SEEDS)[seed_index]).agent.params


def _parts(poison):
    env, eval_env_fn, eval_steps = make_envs(CONFIG)
    agent = ppo.make_agent(CONFIG, env.action_space)
    if poison == "loss":
        agent = _nan_loss_agent(agent)
    elif poison is not None:
        env = Poison(env, poison, _env_key(POISONED), AT_UPDATE * CONFIG.num_steps + 5)
    return functional_parts(agent, env, CONFIG.num_steps, eval_env_fn, eval_steps)


@pytest.fixture(scope="module")
def clean():
    return run_seeds(_parts(None), CONFIG, NUM_SEEDS, seed=SEED, progress=False)


@pytest.mark.parametrize("poison", ["reward", "observation", "loss"])
def test_a_poisoned_seed_halts_and_the_others_go_on(clean, poison):
    _, ref, _ = clean
    assert (ref["halted_at"] == -1).all() and ref["finite"].all()
    state, m, timing = run_seeds(_parts(poison), CONFIG, NUM_SEEDS, seed=SEED, progress=False)
    assert timing["finished"]
    np.testing.assert_array_equal(m["halted_at"], [-1, AT_UPDATE, -1])
    assert not m["finite"][POISONED, AT_UPDATE] and m["finite"][POISONED, :AT_UPDATE].all()
    for s in (0, 2):  # healthy seeds: exactly the clean run's numbers
        for key in ("episode_return", "v_loss", "eval_return"):
            np.testing.assert_array_equal(m[key][s], ref[key][s], err_msg=key)
    assert np.isnan(m["v_loss"][POISONED, AT_UPDATE:]).all()
    np.testing.assert_array_equal(m["v_loss"][POISONED, :AT_UPDATE], ref["v_loss"][POISONED, :AT_UPDATE])
    leaves = jax.tree.leaves(state.agent)
    assert all(np.isfinite(np.asarray(x)).all() for x in leaves if jnp.issubdtype(x.dtype, jnp.inexact))
    assert np.isfinite(m["eval_return"]).all()


def test_raise_names_the_seed_and_update():
    with pytest.raises(FloatingPointError, match=f"seed {POISONED} at update {AT_UPDATE}"):
        run_seeds(_parts("reward"), CONFIG, NUM_SEEDS, seed=SEED, progress=False, on_nonfinite="raise")
    with pytest.raises(ValueError, match="on_nonfinite"):
        run_seeds(_parts(None), CONFIG, NUM_SEEDS, progress=False, on_nonfinite="stop")
    with pytest.raises(ValueError, match="num_seeds must be an int >= 1, got 0"):
        run_seeds(_parts(None), CONFIG, 0, progress=False)


def test_without_the_check_nan_spreads(clean):
    """The check is what keeps the seed finite: with 'ignore' the NaN reaches its parameters."""
    state, m, _ = run_seeds(_parts("reward"), CONFIG, NUM_SEEDS, seed=SEED, progress=False, on_nonfinite="ignore")
    assert (m["halted_at"] == -1).all() and not m["finite"][POISONED].all()
    params = jax.tree.leaves(state.agent.params)
    assert any(np.isnan(np.asarray(p)[POISONED]).any() for p in params)
    assert envs.is_registered(CONFIG.env_id)


class NanRewardAt(gym.Wrapper):
    """A gymnasium CartPole whose reward is NaN at its 50th step."""

    def __init__(self):
        super().__init__(gym.make("CartPole-v1"))
        self.t = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.t += 1
        return obs, math.nan if self.t == 50 else reward, terminated, truncated, info


def test_the_gymnasium_path_halts_too():
    gym.register("NanRewardCartPole-v0", entry_point=NanRewardAt, max_episode_steps=500)
    config = vpg.Config(env_id="NanRewardCartPole-v0", num_envs=2, num_steps=8, total_steps=2 * 8 * 10)
    state, m, _ = gym_loop.train_gym(config, vpg.make_agent, jax.random.key(0), progress=False)
    first = int(m["halted_at"])
    assert 0 <= first < 10 and not m["finite"][first] and m["finite"][:first].all()
    assert np.isnan(m["v_loss"][first:]).all() and np.isfinite(m["v_loss"][:first]).all()
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state.params))
    with pytest.raises(FloatingPointError, match=f"update {first}"):
        gym_loop.train_gym(config, vpg.make_agent, jax.random.key(0), progress=False, on_nonfinite="raise")
