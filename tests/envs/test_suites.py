"""Suite adapters: gymnax behind the registry as ``gymnax:<id>``, with its own auto-reset bypassed
(true final observations, terminated apart from truncated), traceable parameters, image observations
for a CNN torso, and a PPO run on MinAtar that beats the random policy."""

import warnings

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import envs
from lagomjax.envs import registry

gymnax = pytest.importorskip("gymnax", reason='the gymnax extra is not installed: pip install "lagomjax[gymnax]"')

IDS = ["CartPole-v1", "Pendulum-v1", "Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar",
       "Freeway-MinAtar", "Catch-bsuite", "DeepSea-bsuite", "FourRooms-misc", "MountainCarContinuous-v0"]  # fmt: skip


def _random_actions(space, key, n):
    if isinstance(space, gym.spaces.Discrete):
        return jax.random.randint(key, (n,), 0, space.n)
    return jax.random.uniform(key, (n, *space.shape), minval=space.low, maxval=space.high)


@pytest.mark.parametrize("name", IDS)
def test_steps_equal_the_suites_own_step_with_the_flags_apart(name):
    """From the same states and keys our stack returns what gymnax's step_env returns (before any
    reset); terminated is an MDP end only, truncated is the suite's time limit only."""
    genv, params = gymnax.make(name)
    limit = 40
    env = envs.make(f"gymnax:{name}", auto_reset=False, episode_statistics=False, max_episode_steps=limit)
    assert envs.spec(f"gymnax:{name}").max_episode_steps == int(params.max_steps_in_episode)
    state, obs = env.reset(jax.random.key(0))
    ref_obs, _ = genv.reset_env(jax.random.key(0), params)
    np.testing.assert_array_equal(obs, np.asarray(ref_obs, np.float32))
    assert obs.dtype == jnp.float32 and obs.shape == env.observation_space.shape
    step = jax.jit(env.step)
    ref_step = jax.jit(genv.step_env)
    actions = _random_actions(env.action_space, jax.random.key(1), limit)
    for t in range(limit):
        key = jax.random.key(100 + t)
        ref_obs, ref_state, ref_r, ref_done, _ = ref_step(key, state.inner, actions[t], params)
        state, obs, r, te, tr, info = step(key, state, actions[t])
        np.testing.assert_allclose(obs, np.asarray(ref_obs, np.float32), rtol=1e-6, atol=1e-6)  # fusion: 1 ulp
        assert r.dtype == jnp.float32 and te.dtype == jnp.bool_ and tr.dtype == jnp.bool_
        np.testing.assert_allclose(r, np.float32(ref_r), rtol=1e-6)
        assert bool(tr) == (t + 1 == limit) and (not bool(te) or bool(ref_done)), (t, te, tr, ref_done)
        if te:
            break


def test_auto_reset_keeps_the_final_observation_where_gymnax_returns_the_reset_one():
    """Breakout through lagomjax's AutoReset: at every episode end info['next_obs'] is what the
    suite's step_env returned (the final frame), the returned observation is the new episode's
    first; gymnax's own step() would return only the latter and one merged done."""
    genv, params = gymnax.make("Breakout-MinAtar")
    env = envs.make("gymnax:Breakout-MinAtar", num_envs=8, episode_statistics=False, max_episode_steps=30)
    state, obs = env.reset(jax.random.key(0))

    def step(carry, key):
        state, obs = carry
        action = jax.random.randint(key, (8,), 0, 3)
        before = state.inner  # the gymnax states (inside TimeLimit) the step starts from
        new, obs, _, te, tr, info = env.step(jax.random.fold_in(key, 1), state, action)
        k_step = jax.random.split(jax.random.split(jax.random.fold_in(key, 1))[0], 8)  # AutoReset's, then VmapEnv's
        ref_obs, _, _, ref_done, _ = jax.vmap(genv.step_env, in_axes=(0, 0, 0, None))(k_step, before, action, params)
        return (new, obs), (info["next_obs"], ref_obs, obs, te, tr, ref_done)

    _, (next_obs, ref_obs, obs_after, te, tr, ref_done) = jax.jit(
        lambda s, o: jax.lax.scan(step, (s, o), jax.random.split(jax.random.key(1), 120))
    )(state, obs)
    np.testing.assert_allclose(next_obs, np.asarray(ref_obs, np.float32), atol=1e-6)
    ended = np.asarray(te | tr)
    assert np.asarray(te).any() and np.asarray(tr).any()  # both kinds of end happened and were compared
    assert not np.any(np.asarray(te) & ~np.asarray(ref_done))
    differs = np.any(np.asarray(next_obs) != np.asarray(obs_after), axis=(2, 3, 4))
    assert differs[ended].mean() > 0.9  # where an episode ended the returned obs is the reset one


def test_rollout_compiles_once_vmapped_over_envs_and_seeds():
    env = envs.make("gymnax:SpaceInvaders-MinAtar", num_envs=4, max_episode_steps=20)
    policy = envs.random_policy(env)

    def run(key):
        state, obs = env.reset(key)
        (state, obs, _), ro = envs.rollout(env, policy, key, state, obs, 50)
        return ro

    seeds = jax.jit(jax.vmap(run))
    ro = seeds(jax.random.split(jax.random.key(0), 3))
    seeds(jax.random.split(jax.random.key(1), 3))
    assert seeds._cache_size() == 1
    assert ro.obs.shape == (3, 50, 4, 10, 10, 6) and ro.next_obs.dtype == jnp.float32
    assert bool(ro.truncated.any()) and not bool((ro.terminated & ro.truncated).all())


def test_suite_parameters_are_passable_and_traceable():
    def final_x(gravity):
        env = envs.make("gymnax:CartPole-v1", auto_reset=False, episode_statistics=False, gravity=gravity)
        state, _ = env.reset(jax.random.key(0))
        for _ in range(5):
            state, obs, *_ = env.step(jax.random.key(1), state, jnp.int32(1))
        return obs[3]  # the pole's angular velocity depends on gravity

    out = jax.jit(jax.vmap(final_x))(jnp.asarray([1.0, 9.8, 30.0]))
    assert len(set(np.asarray(out).tolist())) == 3
    with pytest.raises(TypeError, match="params have no fields"):
        envs.make("gymnax:CartPole-v1", gravityy=1.0)
    with pytest.raises(ValueError, match="max_episode_steps"):
        envs.make("gymnax:CartPole-v1", max_steps_in_episode=10)
    # concrete parameters that shape a space give that space (the action bounds of MountainCarContinuous)
    wide = envs.make("gymnax:MountainCarContinuous-v0", num_envs=2, min_action=-2.0, max_action=2.0)
    assert wide.action_space == gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    assert envs.make("gymnax:MountainCarContinuous-v0").action_space == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)


def test_a_suite_id_first_made_while_tracing_keeps_no_tracer_for_later_programs():
    """A search builds its parts inside jit, so a suite id's first make() (which registers it, and the
    registry keeps the suite's environment object) can happen during a trace: the object must hold
    concrete arrays, or every later program uses a dead trace's tracer (MinAtar keeps its action sets
    as jnp arrays; PBT on MinAtar failed to run)."""
    registry._REGISTRY.pop("gymnax:Breakout-MinAtar", None)  # registered afresh, inside the trace below

    def first(key):
        return envs.make("gymnax:Breakout-MinAtar").reset(key)[1]

    jax.jit(first)(jax.random.key(0))
    env = envs.make("gymnax:Breakout-MinAtar")
    inner = env
    while not hasattr(inner, "params"):  # down the wrappers to the adapter
        inner = inner.env
    held = jax.tree.leaves(vars(inner.env))
    assert held and not any(isinstance(x, jax.core.Tracer) for x in held)
    state, _ = jax.jit(env.reset)(jax.random.key(1))
    jax.jit(env.step)(jax.random.key(2), state, jnp.int32(1))  # a later program runs


def test_suite_ids_resolve_and_a_missing_suite_names_its_extra():
    assert envs.is_registered("gymnax:Breakout-MinAtar")
    assert "gymnax:Asterix-MinAtar" in envs.registered(suites=True)
    assert "gymnax:MNISTBandit-bsuite" not in envs.registered(suites=True)  # downloads MNIST when made
    for ask in (envs.make, envs.is_registered):  # never handed on to gymnasium, whose message names no ids
        with pytest.raises(ValueError, match="gymnax has no environment 'NoSuchGame'; its ids: CartPole-v1"):
            ask("gymnax:NoSuchGame")

    def missing():
        raise ImportError("No module named 'fancysuite'")

    registry.register_suite(registry.Suite("fancy", missing, lambda name: None, "fancy"))
    with pytest.raises(ImportError, match=r'pip install "lagomjax\[fancy\]"'):
        envs.is_registered("fancy:Game-v0")


def test_spaces_convert_to_gymnasium_and_images_draw(tmp_path):
    env = envs.make("gymnax:Breakout-MinAtar")
    assert env.observation_space == gym.spaces.Box(0.0, 1.0, (10, 10, 4), np.float32)
    assert env.action_space == gym.spaces.Discrete(3)
    box = envs.make("gymnax:Pendulum-v1").action_space
    assert isinstance(box, gym.spaces.Box) and box.dtype == np.float32 and box.shape == (1,)
    from PIL import Image

    from lagomjax import vis

    path = vis.record_episode("gymnax:Breakout-MinAtar", lambda obs, p: (jnp.int32(1), p), jax.random.key(0),
                              tmp_path / "breakout.gif", max_steps=20)  # fmt: skip
    with Image.open(path) as gif:
        assert gif.n_frames > 5 and gif.size == (160, 160)
        assert np.asarray(gif.convert("RGB")).std() > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "env_id, torso, steps, random_return, threshold",
    [("gymnax:Breakout-MinAtar", "cnn", 24_576, 0.4, 3.0), ("gymnax:Catch-bsuite", "mlp", 40_960, -0.6, 0.5)],
)
def test_ppo_beats_the_random_policy(env_id, torso, steps, random_return, threshold):
    """A MinAtar game through the CNN torso and a bsuite task (its [10, 5] image flattened for an
    MLP) learn well past random play (its return measured with the same envs: about 0.4 and -0.6)."""
    from lagomjax.algos import ppo

    config = ppo.Config(env_id=env_id, torso=torso, total_steps=steps, num_envs=32, num_steps=32, num_minibatches=4,
                        update_epochs=4, lr=5e-3, ent_coef=0.01, hidden_sizes=(32,), eval_episodes=8)  # fmt: skip
    _, metrics = jax.jit(ppo.make_train(config))(jax.random.key(0))
    first = float(np.nanmean(metrics["episode_return"][:3]))  # the untrained policy's episodes
    assert abs(first - random_return) < 0.3, first
    assert float(metrics["eval_return"]) >= threshold, metrics["eval_return"]


def test_dqn_trains_on_minatar_through_the_cnn_torso_and_a_cnn_needs_images():
    from lagomjax.algos import dqn, ppo

    config = dqn.Config(env_id="gymnax:Breakout-MinAtar", torso="cnn", total_steps=2048, num_envs=8, num_steps=32,
                        learning_starts=512, gradient_steps=4, batch_size=32, hidden_sizes=(32,))  # fmt: skip
    state, metrics = jax.jit(dqn.make_train(config))(jax.random.key(0))
    assert "Conv_0" in state.agent.learner.params["params"] and np.isfinite(metrics["eval_return"])
    with pytest.raises(ValueError, match=r"torso='cnn' needs image observations \[H, W, C\]; CartPole-v1"):
        ppo.make_parts(ppo.Config(torso="cnn"))
    with pytest.raises(ValueError, match="torso must be one of mlp, cnn"):
        ppo.Config(torso="resnet")


def test_es_searches_a_cnn_policy_on_minatar_past_the_random_policy():
    """ES-policy with the CNN torso on MinAtar's images (as evosax's OpenAI-ES examples): 100
    generations of 64 members lift the population's mean return from the random policy's level
    (0.32 over the first tenth, seed 0) to 0.96 over the last tenth here."""
    from lagomjax.algos import es_policy

    config = es_policy.Config(env_id="gymnax:Breakout-MinAtar", torso="cnn", strategy="openai_es", popsize=64,
                              generations=100, episodes_per_member=1, hidden_sizes=(32,), es_lr=0.05, sigma0=0.1,
                              eval_episodes=8)  # fmt: skip
    _, metrics = jax.jit(es_policy.make_train(config))(jax.random.key(0))
    returns = np.asarray(metrics["episode_return"])
    assert returns[:10].mean() < 0.6 and returns[-10:].mean() >= 0.7, (returns[:10].mean(), returns[-10:].mean())
    policy, template, dim = es_policy.make_policy(config, *_spaces("gymnax:Breakout-MinAtar"))
    assert "Conv_0" in template["params"] and dim > 10_000
    with pytest.raises(ValueError, match=r"torso='cnn' needs image observations \[H, W, C\]; CartPole-v1"):
        es_policy.make_parts(es_policy.Config(torso="cnn"))


def _spaces(env_id):
    env = envs.make(env_id, auto_reset=False, episode_statistics=False)
    return env.observation_space, env.action_space


@pytest.mark.slow
def test_a_policy_trained_on_image_observations_loads_and_acts_on_raw_ones(tmp_path):
    """A command-line run on Catch-bsuite ([10, 5] images, flattened for the MLP): the loaded policy
    takes the environment's own observations, single or batched, as training saw them."""
    from lagomjax import checkpoint
    from lagomjax.algos import policies, ppo
    from lagomjax.train import runs
    from lagomjax.train.driver import main
    from lagomjax.train.loop import make_envs
    from lagomjax.train.seeds import run_meta

    run = tmp_path / "run"
    main(ppo, ["--env", "gymnax:Catch-bsuite", "--num-seeds", "2", "--total-steps", "2048", "--hidden-sizes", "16",
               "--log-dir", str(run)])  # fmt: skip
    policy = policies.load_policy(run, seed_index=1)
    obs = np.asarray(envs.make("gymnax:Catch-bsuite", num_envs=3).reset(jax.random.key(5))[1])
    batch, _ = policy.act(obs)
    single, _ = policy.act(obs[0])
    assert batch.shape == (3,) and single.shape == () and int(single) == int(batch[0])
    config = policy.config
    parts = ppo.make_parts(config)
    like = jax.eval_shape(jax.vmap(parts.init), jax.random.split(jax.random.key(0), 2))
    state, _ = checkpoint.restore(run / runs.CHECKPOINT, like, run_meta(config, 2, 0))
    agent = ppo.make_agent(config, make_envs(config)[0].action_space)
    mine, _ = agent.greedy(jax.tree.map(lambda x: x[1], state.agent), jnp.asarray(obs.reshape(3, -1)), ())
    np.testing.assert_array_equal(batch, mine)
    returns = policies.evaluate_run(run, episodes=4, seed_index=1)
    assert returns.shape == (4,) and np.all(np.isin(returns, [-1.0, 1.0]))


@pytest.mark.parametrize("name", ["Breakout-MinAtar", "Freeway-MinAtar"])
def test_tracing_minatar_raises_none_of_gymnax_s_own_warnings(name):
    """gymnax's MinAtar code scatters ints into bool grids (a jax FutureWarning) and Freeway asks for
    int64 (a UserWarning): noise on every run that a user cannot act on, silenced in the adapter."""
    env = envs.make(f"gymnax:{name}", num_envs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jax.jit(env.reset).lower(jax.random.key(0))
        state, _ = env.reset(jax.random.key(0))
        jax.jit(env.step).lower(jax.random.key(1), state, jnp.zeros(2, jnp.int32))
