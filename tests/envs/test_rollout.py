import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import envs, metric


def test_rollout_shapes_extras_and_compiles_once():
    env = envs.make("CartPole-v1", num_envs=8)
    traces = []

    def policy(key, obs, pstate):
        traces.append(1)
        logits = jnp.stack([obs[:, 2], -obs[:, 2]], -1)
        action = jax.random.categorical(key, logits)
        return action, {"logp": jax.nn.log_softmax(logits)[jnp.arange(8), action], "value": obs.sum(-1)}, pstate

    run = jax.jit(lambda k, s, o: envs.rollout(env, policy, k, s, o, 64))
    state, obs = env.reset(jax.random.key(0))
    (state, obs, _), batch = run(jax.random.key(1), state, obs)
    (state, obs, _), batch2 = run(jax.random.key(2), state, obs)
    assert len(traces) == 1  # no recompilation when episodes end and restart
    assert batch.obs.shape == batch.next_obs.shape == (64, 8, 4)
    assert batch.actions.shape == batch.rewards.shape == batch.terminated.shape == (64, 8)
    assert batch.extras["logp"].shape == (64, 8) and batch.terminated.dtype == jnp.bool_
    # consecutive steps chain: obs[t+1] is next_obs[t] unless an episode ended at t
    done = np.asarray(batch.terminated | batch.truncated)
    np.testing.assert_array_equal(np.asarray(batch.obs[1:])[~done[:-1]], np.asarray(batch.next_obs[:-1])[~done[:-1]])
    # the batch feeds the rollout metrics directly
    values = batch.extras["value"]
    next_values = batch.next_obs.sum(-1)
    adv = metric.gae_rollout(0.99, 0.95, batch.rewards, values, next_values, batch.terminated, batch.truncated)
    assert adv.shape == (64, 8) and bool(jnp.all(jnp.isfinite(adv)))


def test_rollout_dtypes_stable_across_calls_and_vmap_over_seeds():
    env = envs.make("Pendulum-v1", num_envs=2, normalize_obs=True, normalize_reward=True)
    policy = envs.random_policy(env)
    state, obs = env.reset(jax.random.key(0))
    (state2, _, _), _ = envs.rollout(env, policy, jax.random.key(1), state, obs, 5)
    sig = lambda s: jax.tree.map(lambda a: (a.shape, a.dtype, a.weak_type), s)  # noqa: E731
    assert sig(state2) == sig(state)

    def one_seed(key):
        k1, k2 = jax.random.split(key)
        s, o = env.reset(k1)
        return envs.rollout(env, policy, k2, s, o, 20)[1].rewards

    rewards = jax.jit(jax.vmap(one_seed))(jax.random.split(jax.random.key(3), 4))
    assert rewards.shape == (4, 20, 2)
    np.testing.assert_allclose(rewards[1], one_seed(jax.random.split(jax.random.key(3), 4)[1]), rtol=1e-5)


def test_policy_state_flows_and_is_zeroed_where_an_episode_ended():
    """A counting 'recurrent' policy: its state is the number of steps since its episode began."""
    env = envs.make("CartPole-v1", num_envs=4, max_episode_steps=5)

    def policy(key, obs, count):
        return jnp.zeros(4, jnp.int32), {"count": count}, count + 1

    state, obs = env.reset(jax.random.key(0))
    (_, _, count), ro = envs.rollout(env, policy, jax.random.key(1), state, obs, 12, jnp.zeros(4, jnp.int32))
    done = np.asarray(ro.terminated | ro.truncated)
    seen = np.asarray(ro.extras["count"])
    expected, c = [], np.zeros(4, np.int32)
    for t in range(12):
        expected.append(c.copy())
        c = np.where(done[t], 0, c + 1)
    np.testing.assert_array_equal(seen, np.stack(expected))
    np.testing.assert_array_equal(count, c)
    # evaluation zeroes it the same way and counts each first episode
    act = lambda obs, count: (jnp.zeros(4, jnp.int32), count + 1)  # noqa: E731
    mean, returns, lengths = envs.evaluate(env, act, jax.random.key(2), 5, lambda shape: jnp.zeros(shape, jnp.int32))
    assert returns.shape == (4,) and np.all(np.asarray(lengths) <= 5) and np.isfinite(float(mean))


def test_evaluate_equals_a_plain_loop_and_stops_once_every_first_episode_ended():
    """Each environment's first-episode return and length, as a Python loop over the same per-step
    keys finds them; the loop stops at the last first episode's end, not at ``max_steps``."""
    env = envs.make("CartPole-v1", num_envs=6)
    calls = []

    def act(obs, pstate):  # push toward the pole's lean (even envs) or its angular velocity (odd ones)
        jax.debug.callback(lambda: calls.append(1))
        return (jnp.where(jnp.arange(6) % 2 == 0, obs[:, 2], obs[:, 3]) > 0).astype(jnp.int32), pstate

    key = jax.random.key(4)
    mean, returns, lengths = jax.jit(lambda k: envs.evaluate(env, act, k, 500))(key)
    state, obs = env.reset(key)
    step = jax.jit(env.step)
    ref_returns, ref_lengths, finished = np.full(6, np.nan), np.zeros(6, int), np.zeros(6, bool)
    for t, k in enumerate(jax.random.split(key, 500)):
        action, _ = act(obs, ())
        state, obs, _, _, _, info = step(k, state, action)
        done = np.asarray(info["episode_done"])
        ref_returns = np.where(done & ~finished, np.asarray(info["episode_return"]), ref_returns)
        ref_lengths += ~finished
        finished |= done
        if finished.all():
            break
    np.testing.assert_array_equal(returns, ref_returns)
    np.testing.assert_array_equal(lengths, ref_lengths)
    assert np.isclose(float(mean), ref_returns.mean())
    # the jitted loop acted once per step until the longest first episode ended, as the Python loop did
    assert len(calls) == 2 * ref_lengths.max() and ref_lengths.max() < 500
    # on the same envs without auto-reset (what training evaluates on): the same first episodes
    bare = envs.make("CartPole-v1", num_envs=6, auto_reset=False)
    _, bare_returns, bare_lengths = jax.jit(lambda k: envs.evaluate(bare, act, k, 500))(key)
    np.testing.assert_array_equal(bare_returns, returns)
    np.testing.assert_array_equal(bare_lengths, lengths)


def test_evaluation_envs_compile_no_reset_into_their_step():
    """Training's evaluation envs and ES's population envs run first episodes only: no AutoReset in
    their stacks (its reset would be compiled into every step), while training's envs keep theirs."""
    from lagomjax.algos import es_policy, ppo
    from lagomjax.train.loop import make_envs

    def wrappers(env):
        out = []
        while env is not None:
            out.append(type(env).__name__)
            env = getattr(env, "env", None)
        return out

    config = ppo.Config(env_id="Pendulum-v1", normalize_obs=True)
    train_env, eval_env_fn, _ = make_envs(config)
    assert "AutoReset" in wrappers(train_env)
    state, _ = jax.eval_shape(train_env.reset, jax.random.key(0))
    assert "AutoReset" not in wrappers(eval_env_fn(state))
    es_env, _, _ = make_envs(es_policy.Config(), auto_reset=False)
    assert "AutoReset" not in wrappers(es_env) and "EpisodeStatistics" in wrappers(es_env)


def test_bad_step_counts_and_action_batches_are_refused_by_name():
    env = envs.make("CartPole-v1", num_envs=4, auto_reset=False)
    with pytest.raises(ValueError, match="max_steps must be an int >= 1, got 0"):
        envs.evaluate(env, lambda obs, p: (jnp.zeros(4, jnp.int32), p), jax.random.key(0), 0)
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match=r"action must be batched over the 4 envs \[num_envs, ...\], got \(3,\)"):
        env.step(jax.random.key(1), state, jnp.zeros(3, jnp.int32))
    with pytest.raises(TypeError, match="max_episode_steps must be an int, got float 10.5"):
        envs.TimeLimit(envs.make("CartPole-v1", auto_reset=False, episode_statistics=False), 10.5)
