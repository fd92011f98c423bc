import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import envs
from lagomjax.envs.functional import TimeLimitState


def balance(obs):
    """A controller that keeps CartPole up for a while (so episodes run long and also fail)."""
    x, x_dot, theta, theta_dot = obs
    return int(theta + 0.3 * theta_dot + 0.02 * x + 0.05 * x_dot > 0)


@pytest.mark.parametrize(
    "max_steps, policy, ending",
    [(500, "random", "terminated"), (500, "balance", "truncated"), (60, "balance", "truncated")],
)
def test_cartpole_matches_gymnasium_step_for_step(max_steps, policy, ending):
    ref = gym.make("CartPole-v1", max_episode_steps=max_steps)
    ours = envs.make("CartPole-v1", auto_reset=False, episode_statistics=False, max_episode_steps=max_steps)
    step = jax.jit(ours.step)
    rng = np.random.default_rng(max_steps)
    seen = {"terminated": 0, "truncated": 0}
    for episode in range(3):
        obs, _ = ref.reset(seed=episode)
        t = 0
        while True:
            state = TimeLimitState(jnp.asarray(ref.unwrapped.state, jnp.float32), jnp.asarray(t, jnp.int32))
            action = int(rng.integers(2)) if policy == "random" else balance(obs)
            obs, reward, terminated, truncated, _ = ref.step(action)
            _, o, r, te, tr, _ = step(jax.random.key(t), state, jnp.asarray(action))
            t += 1
            np.testing.assert_allclose(o, obs, rtol=1e-5, atol=1e-5)
            assert float(r) == reward and bool(te) == terminated and bool(tr) == truncated, (t, te, tr)
            if terminated or truncated:
                seen["terminated" if terminated else "truncated"] += 1
                break
    assert seen[ending] > 0  # the terminating / truncating steps were compared too


def test_pendulum_matches_gymnasium_step_for_step_including_truncation():
    ref = gym.make("Pendulum-v1")
    ours = envs.make("Pendulum-v1", auto_reset=False, episode_statistics=False)
    step = jax.jit(ours.step)
    rng = np.random.default_rng(0)
    obs, _ = ref.reset(seed=0)
    for t in range(200):
        state = TimeLimitState(jnp.asarray(ref.unwrapped.state, jnp.float32), jnp.asarray(t, jnp.int32))
        action = rng.uniform(-2.5, 2.5, size=(1,)).astype(np.float32)  # also outside the bounds: clipped
        obs, reward, terminated, truncated, _ = ref.step(action)
        _, o, r, te, tr, _ = step(jax.random.key(t), state, jnp.asarray(action))
        np.testing.assert_allclose(o, obs, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(r, reward, rtol=1e-5, atol=1e-5)
        assert not bool(te) and bool(tr) == truncated == (t == 199)


def test_initial_states_match_gymnasium_ranges():
    st, obs = jax.jit(envs.make("CartPole-v1", num_envs=2000).reset)(jax.random.key(0))
    assert obs.shape == (2000, 4) and float(jnp.abs(obs).max()) <= 0.05
    _, obs = envs.make("Pendulum-v1", num_envs=2000).reset(jax.random.key(0))
    theta = np.arctan2(obs[:, 1], obs[:, 0])
    assert np.abs(theta).max() > 3.0 and np.abs(obs[:, 2]).max() <= 1.0


def test_auto_reset_keeps_true_final_observation_and_flags_apart():
    env = envs.make("CartPole-v1", num_envs=16, episode_statistics=False, max_episode_steps=30)
    state, obs = env.reset(jax.random.key(0))
    step = jax.jit(env.step)
    inner_step = jax.jit(env.env.step)  # the same env without AutoReset
    n_term = n_trunc = 0
    for t in range(80):
        action = jnp.asarray(np.random.default_rng(t).integers(0, 2, 16))
        key = jax.random.key(t)
        new_state, new_obs, _, term, trunc, info = step(key, state, action)
        # what the env produced before any reset, with the same key split as AutoReset
        _, true_next, _, term2, trunc2, _ = inner_step(jax.random.split(key)[0], state, action)
        np.testing.assert_array_equal(info["next_obs"], true_next)
        np.testing.assert_array_equal(term, term2)
        np.testing.assert_array_equal(trunc, trunc2)
        done = np.asarray(term | trunc)
        # where an episode ended the returned obs is a fresh start, elsewhere it is the true next obs
        np.testing.assert_array_equal(np.asarray(new_obs)[~done], np.asarray(true_next)[~done])
        assert np.all(np.abs(np.asarray(new_obs)[done]) <= 0.05)
        assert np.all(np.asarray(new_state.t)[done] == 0)
        n_term += int(term.sum())
        n_trunc += int((trunc & ~term).sum())
        state = new_state
    assert n_term > 0 and n_trunc > 0


def test_a_reset_pool_hands_its_resets_in_order_to_the_environments_that_ended():
    """``reset_pool=k``: the i-th environment to end in a step starts from the pool's reset i (mod k),
    the pool being ``k`` single-environment resets from AutoReset's reset key; the others step on
    unchanged, and the true final observation and both flags are the same as without a pool."""
    n, k = 16, 3
    pooled = envs.make("CartPole-v1", num_envs=n, episode_statistics=False, max_episode_steps=9, reset_pool=k)
    plain = envs.make("CartPole-v1", num_envs=n, episode_statistics=False, max_episode_steps=9)
    single = pooled.env.env  # the TimeLimit-wrapped single environment
    state, _ = pooled.reset(jax.random.key(0))
    step, plain_step = jax.jit(pooled.step), jax.jit(plain.step)
    pool_of = jax.jit(lambda key: jax.vmap(single.reset)(jax.random.split(jax.random.split(key)[1], k)))
    counts = []
    for t in range(40):
        key, action = jax.random.key(t), jnp.asarray(np.random.default_rng(t).integers(0, 2, n))
        new_state, obs, _, term, trunc, info = step(key, state, action)
        ref_state, ref_obs, _, ref_term, ref_trunc, ref_info = plain_step(key, state, action)
        np.testing.assert_array_equal(info["next_obs"], ref_info["next_obs"])
        np.testing.assert_array_equal(term, ref_term)
        np.testing.assert_array_equal(trunc, ref_trunc)
        done = np.asarray(term | trunc)
        np.testing.assert_array_equal(np.asarray(obs)[~done], np.asarray(ref_obs)[~done])
        pool_state, pool_obs = pool_of(key)
        slots = (np.cumsum(done) - 1)[done] % k
        np.testing.assert_array_equal(np.asarray(obs)[done], np.asarray(pool_obs)[slots])
        np.testing.assert_array_equal(np.asarray(new_state.t)[done], 0)
        counts.append(int(done.sum()))
        state = new_state
    assert max(counts) > k and sum(c > 0 for c in counts) > 3  # steps where the pool wrapped around, and others

    # a pool as large as the batch is the plain auto-reset, bit for bit
    full = envs.make("CartPole-v1", num_envs=n, episode_statistics=False, max_episode_steps=9, reset_pool=n)
    state, _ = plain.reset(jax.random.key(1))
    a = jnp.zeros(n, jnp.int32)
    for t in range(12):
        out, ref = jax.jit(full.step)(jax.random.key(t), state, a), plain_step(jax.random.key(t), state, a)
        jax.tree.map(np.testing.assert_array_equal, out, ref)
        state = out[0]
    for bad, error in [(0, ValueError), (n + 1, ValueError), (True, ValueError), (2.0, ValueError)]:
        with pytest.raises(error, match="reset_pool"):
            envs.make("CartPole-v1", num_envs=n, reset_pool=bad)
    with pytest.raises(ValueError, match="reset_pool=2 needs num_envs"):
        envs.make("CartPole-v1", reset_pool=2)


class _CountResets(envs.functional.Wrapper):
    """Counts, on the host, every reset the wrapped (batched) environment computes."""

    def __init__(self, env, calls):
        super().__init__(env)
        self.calls = calls

    def reset(self, key):
        jax.debug.callback(lambda: self.calls.append(1))
        return self.env.reset(key)


def test_auto_reset_computes_resets_only_on_steps_where_an_episode_ended():
    """Pendulum never terminates: with a time limit of 10, a 25-step scan ends episodes at steps
    10 and 20 only, so AutoReset resets twice; under a vmap over seeds (a select, both branches)
    the results are those of the seeds run one by one."""
    calls = []
    batched = envs.make("Pendulum-v1", num_envs=4, auto_reset=False, episode_statistics=False, max_episode_steps=10)
    env = envs.AutoReset(_CountResets(batched, calls))
    actions = jnp.zeros((25, 4, 1), jnp.float32)

    def run(key):
        state, obs = env.reset(key)

        def body(carry, inputs):
            state, _ = carry
            k, a = inputs
            state, obs, _, term, trunc, info = env.step(k, state, a)
            return (state, obs), (obs, info["next_obs"], term | trunc)

        return jax.lax.scan(body, (state, obs), (jax.random.split(key, 25), actions))[1]

    obs, next_obs, done = jax.block_until_ready(jax.jit(run)(jax.random.key(0)))
    assert len(calls) == 1 + 2  # the first reset, then one per step where episodes ended
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(done).any(axis=1)), [9, 19])
    assert np.asarray(done)[[9, 19]].all()
    assert not np.array_equal(obs[9], next_obs[9]) and np.array_equal(obs[8], next_obs[8])
    keys = jax.random.split(jax.random.key(1), 3)
    over_seeds, one_by_one = jax.jit(jax.vmap(run))(keys), [jax.jit(run)(k) for k in keys]
    for i, alone in enumerate(one_by_one):
        jax.tree.map(np.testing.assert_array_equal, jax.tree.map(lambda x, i=i: x[i], over_seeds), alone)


def test_episode_statistics_equal_a_python_loop():
    env = envs.make("CartPole-v1", num_envs=4)
    policy = envs.random_policy(env)
    state, obs = env.reset(jax.random.key(1))
    (_, _, _), batch = jax.jit(lambda k, s, o: envs.rollout(env, policy, k, s, o, 300))(jax.random.key(2), state, obs)
    rewards, done = np.asarray(batch.rewards), np.asarray(batch.terminated | batch.truncated)
    for b in range(4):
        ret = length = 0
        for t in range(300):
            ret, length = ret + rewards[t, b], length + 1
            if done[t, b]:
                assert batch.info["episode_done"][t, b]
                np.testing.assert_allclose(batch.info["episode_return"][t, b], ret)
                assert int(batch.info["episode_length"][t, b]) == length
                ret = length = 0
            else:
                assert not batch.info["episode_done"][t, b]


def test_normalize_observation_moments_equal_numpy():
    env = envs.make("Pendulum-v1", num_envs=8, normalize_obs=True)
    policy = envs.random_policy(env)
    raw = envs.make("Pendulum-v1", num_envs=8)
    state, obs = env.reset(jax.random.key(3))
    raw_state, raw_obs = raw.reset(jax.random.key(3))
    (s, _, _), batch = envs.rollout(env, policy, jax.random.key(4), state, obs, 50)
    (_, _, _), raw_batch = envs.rollout(raw, policy, jax.random.key(4), raw_state, raw_obs, 50)
    seen = np.concatenate([np.asarray(raw_obs)[None], np.asarray(raw_batch.next_obs)])
    # the moments saw the reset observations and every observation returned after a step; with
    # no episode ending in 50 steps these are exactly the raw next observations
    np.testing.assert_allclose(s.moments.mean, seen.reshape(-1, 3).mean(0), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(s.moments.var, seen.reshape(-1, 3).var(0), rtol=1e-3, atol=1e-4)
    expected = np.clip((np.asarray(raw_batch.next_obs[-1]) - s.moments.mean) / np.sqrt(s.moments.var + 1e-8), -5, 5)
    np.testing.assert_allclose(batch.next_obs[-1], expected, rtol=1e-4, atol=1e-5)


def test_normalize_reward_scales_by_discounted_return_std_and_resets_at_episode_end():
    env = envs.make("CartPole-v1", num_envs=3, normalize_reward=True, gamma=0.9)
    policy = envs.random_policy(env)
    state, obs = env.reset(jax.random.key(5))
    (s, _, _), batch = envs.rollout(env, policy, jax.random.key(6), state, obs, 100)
    raw, done = np.asarray(batch.info["raw_reward"]), np.asarray(batch.terminated | batch.truncated)
    # Python loop: G <- r + gamma G, Chan moments over all envs per step, reset G at episode ends
    G, n, mean, var = np.zeros(3), 1e-8, 0.0, 1.0  # prior pseudo-count 1e-8 (lagom)
    for t in range(100):
        G = raw[t] + 0.9 * G
        bm, bv, bn = G.mean(), G.var(), 3
        delta, tot = bm - mean, n + bn
        mean, var, n = mean + delta * bn / tot, (var * n + bv * bn + delta**2 * n * bn / tot) / tot, tot
        np.testing.assert_allclose(batch.rewards[t], np.clip(raw[t] / np.sqrt(var + 1e-8), -10, 10), rtol=1e-4)
        G = np.where(done[t], 0.0, G)
    assert done.any()
    np.testing.assert_allclose(s.returns, G, rtol=1e-5)  # no mean subtracted anywhere: rewards stay positive
    assert np.all(np.asarray(batch.rewards) > 0)


def test_action_wrappers():
    base = envs.make("Pendulum-v1", auto_reset=False, episode_statistics=False)
    rescaled = envs.RescaleAction(base)
    clipped = envs.ClipAction(base)
    state, _ = base.reset(jax.random.key(0))
    _, o1, r1, *_ = rescaled.step(jax.random.key(1), state, jnp.array([0.5]))
    _, o2, r2, *_ = base.step(jax.random.key(1), state, jnp.array([1.0]))
    np.testing.assert_allclose(o1, o2)
    _, o3, *_ = clipped.step(jax.random.key(1), state, jnp.array([7.0]))
    _, o4, *_ = base.step(jax.random.key(1), state, jnp.array([2.0]))
    np.testing.assert_allclose(o3, o4)
    assert rescaled.action_space.low.tolist() == [-1.0]


def test_make_errors():
    with pytest.raises(ValueError, match="no functional environment registered"):
        envs.make("Ant-v5")
    with pytest.raises(ValueError, match="num_envs"):
        envs.VmapEnv(envs.make("CartPole-v1", auto_reset=False), 0)


class _DictObsEnv(envs.JaxEnv):
    """A toy env with structured observations: {'pos': [2], 'grid': [3, 3]}."""

    observation_space = gym.spaces.Dict(
        {"pos": gym.spaces.Box(-1.0, 1.0, (2,), np.float32), "grid": gym.spaces.Box(0.0, 1.0, (3, 3), np.float32)}
    )
    action_space = gym.spaces.Discrete(2)

    def _obs(self, t):
        return {"pos": jnp.stack([t, -t]) / 10.0, "grid": jnp.full((3, 3), t / 10.0)}

    def reset(self, key):
        return jnp.float32(0.0), self._obs(jnp.float32(0.0))

    def step(self, key, state, action):
        t = state + 1.0
        return t, self._obs(t), jnp.float32(1.0), t >= 3, jnp.bool_(False), {}


def test_flatten_observation_turns_structured_and_image_observations_into_vectors():
    env = envs.AutoReset(envs.FlattenObservation(envs.VmapEnv(_DictObsEnv(), 4)))
    assert env.observation_space == gym.spaces.Box(
        np.r_[np.zeros(9), -np.ones(2)].astype(np.float32), np.ones(11, np.float32), (11,), np.float32
    )  # keys in sorted order: grid (9), then pos (2)
    state, obs = env.reset(jax.random.key(0))
    assert obs.shape == (4, 11) and obs.dtype == jnp.float32
    for _ in range(3):
        state, obs, _, terminated, _, info = env.step(jax.random.key(1), state, jnp.zeros(4, jnp.int32))
    np.testing.assert_allclose(info["next_obs"][0], np.r_[np.full(9, 0.3), 0.3, -0.3], rtol=1e-6)  # the final one
    assert bool(terminated.all()) and float(jnp.abs(obs).max()) == 0.0  # the new episodes' first
    with pytest.raises(TypeError, match="FlattenObservation needs Box observations"):
        envs.FlattenObservation(_DiscreteObs())


def test_evaluate_reads_structured_observations():
    """``evaluate`` on a Dict-observation env (a Jumanji game) hands the policy the dict and counts its
    batch from the first part: every first episode lasts 3 steps of reward 1."""
    env = envs.EpisodeStatistics(envs.VmapEnv(_DictObsEnv(), 5))

    def act(obs, pstate):
        assert set(obs) == {"pos", "grid"}
        return jnp.zeros(obs["pos"].shape[:1], jnp.int32), pstate

    mean, returns, lengths = jax.jit(lambda k: envs.evaluate(env, act, k, 10))(jax.random.key(0))
    np.testing.assert_array_equal(returns, np.full(5, 3.0))
    np.testing.assert_array_equal(lengths, np.full(5, 3))
    assert float(mean) == 3.0


class _DiscreteObs(envs.JaxEnv):
    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Discrete(2)
