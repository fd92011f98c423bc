"""The Craftax, brax, Jumanji and MuJoCo Playground adapters: each steps as the suite's own (bare)
environment from the same states, keeps terminated and truncated apart and compiles once across
episode ends. Each is skipped with its reason when its extra is not installed."""

import warnings

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import envs


@pytest.mark.slow
def test_craftax_classic_steps_as_the_suites_step_env_with_the_flags_apart():
    craftax_env = pytest.importorskip("craftax.craftax_env", reason='pip install "lagomjax[craftax]"')
    bare = craftax_env.make_craftax_env_from_name("Craftax-Classic-Symbolic-v1", auto_reset=False)
    params = bare.default_params
    env = envs.make("craftax:Craftax-Classic-Symbolic-v1", num_envs=4, episode_statistics=False,
                    max_episode_steps=12)  # fmt: skip
    assert env.observation_space.shape == (1345,) and env.action_space == gym.spaces.Discrete(17)
    assert envs.time_limit("craftax:Craftax-Classic-Symbolic-v1") == int(params.max_timesteps)

    def step(carry, key):
        state, _ = carry
        action = jax.random.randint(key, (4,), 0, 17)
        k_step = jax.random.split(jax.random.split(jax.random.fold_in(key, 1))[0], 4)  # AutoReset's, then VmapEnv's
        ref = jax.vmap(bare.step_env, in_axes=(0, 0, 0, None))(k_step, state.inner, action, params)
        new, obs, reward, te, tr, info = env.step(jax.random.fold_in(key, 1), state, action)
        return (new, obs), (info["next_obs"], ref[0], reward, ref[2], te, tr, ref[3], info["Achievements/collect_wood"])

    run = jax.jit(lambda s, o, k: jax.lax.scan(step, (s, o), jax.random.split(k, 30)))
    (state, obs), out = run(*jax.jit(env.reset)(jax.random.key(0)), jax.random.key(1))  # an eager reset: 2x slower
    next_obs, ref_obs, reward, ref_reward, te, tr, ref_done, wood = out
    np.testing.assert_allclose(next_obs, ref_obs, atol=1e-6)
    np.testing.assert_allclose(reward, ref_reward, atol=1e-6)
    assert bool(tr.any()) and not bool((te & ~ref_done).any()) and wood.shape == (30, 4)
    run(state, obs, jax.random.key(2))
    assert run._cache_size() == 1


def scan_beside_bare(env, bare, num_envs, steps):
    """A jitted scan of uniform random box actions through ``env`` (lagomjax's stack over a suite with
    brax's ``State`` protocol) and, from the same states, through the bare suite's own ``step``: per
    step (final observation, the bare observation, reward, the bare reward, terminated, truncated,
    the bare ``done``, the time-limit step count)."""

    def step(carry, key):
        state, _ = carry
        action = jax.random.uniform(key, (num_envs, *env.action_space.shape), minval=-1.0, maxval=1.0)
        ref = jax.vmap(bare.step)(state.inner, action)
        new, obs, reward, te, tr, info = env.step(key, state, action)
        return (new, obs), (info["next_obs"], ref.obs, reward, ref.reward, te, tr, ref.done, state.t)

    return jax.jit(lambda s, o, k: jax.lax.scan(step, (s, o), jax.random.split(k, steps)))


@pytest.mark.slow
def test_brax_steps_as_the_bare_env_and_truncates_by_the_time_limit():
    brax_envs = pytest.importorskip("brax.envs", reason='pip install "lagomjax[brax]"')
    bare = brax_envs.get_environment("inverted_pendulum")
    env = envs.make("brax:inverted_pendulum", num_envs=3, episode_statistics=False, max_episode_steps=5)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    assert envs.time_limit("brax:inverted_pendulum") == 1000

    run = scan_beside_bare(env, bare, 3, 40)
    _, (next_obs, ref_obs, reward, ref_reward, te, tr, ref_done, _) = run(*env.reset(jax.random.key(0)),
                                                                          jax.random.key(1))  # fmt: skip
    np.testing.assert_allclose(next_obs, ref_obs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reward, ref_reward, atol=1e-6)
    np.testing.assert_array_equal(te, ref_done > 0)  # the pole fell: a termination
    assert bool(te.any()) and bool(tr.any())  # random torques drop the pole; survivors reach the limit
    assert not bool((te & tr).any()) or bool(te.any())


def test_jumanji_snake_ends_by_time_as_a_truncation_not_a_termination():
    """Jumanji's Snake ends at its own time limit with discount 0 (a termination); through the
    adapter the time limit is lagomjax's TimeLimit, a truncation, and only deaths terminate."""
    jumanji = pytest.importorskip("jumanji", reason='pip install "lagomjax[jumanji]"')
    env = envs.make("jumanji:Snake-v1", num_envs=8, episode_statistics=False, max_episode_steps=3)
    assert isinstance(env.observation_space, gym.spaces.Dict) and env.action_space == gym.spaces.Discrete(4)
    assert set(env.observation_space.spaces) == {"grid", "step_count", "action_mask"}
    assert envs.time_limit("jumanji:Snake-v1") == jumanji.make("Snake-v1").time_limit
    bare = jumanji.make("Snake-v1", time_limit=2**30)

    def step(carry, key):
        state, _ = carry
        action = jax.random.randint(key, (8,), 0, 4)
        _, ts = jax.vmap(bare.step)(state.inner, action)  # the TimeLimit state holds the suite's
        new, obs, reward, te, tr, info = env.step(key, state, action)
        last = ts.step_type == 2
        return (new, obs), (info["next_obs"]["grid"], ts.observation.grid, reward, ts.reward, te, tr, last,
                            ts.discount, state.t)  # fmt: skip

    run = jax.jit(lambda s, o, k: jax.lax.scan(step, (s, o), jax.random.split(k, 60)))
    _, out = run(*env.reset(jax.random.key(0)), jax.random.key(1))
    grid, ref_grid, reward, ref_reward, te, tr, last, discount, t = out
    np.testing.assert_array_equal(grid, ref_grid)
    np.testing.assert_array_equal(reward, ref_reward)
    np.testing.assert_array_equal(te, last & (discount == 0))  # deaths only
    np.testing.assert_array_equal(tr, t + 1 >= 3)  # the time limit, never a termination
    assert bool(te.any()) and bool(tr.any())
    with pytest.raises(ValueError, match="max_episode_steps"):
        envs.make("jumanji:Snake-v1", time_limit=10)
    flat = envs.FlattenObservation(env)
    assert flat.observation_space.shape == (12 * 12 * 5 + 1 + 4,)
    small = envs.make("jumanji:Snake-v1", num_envs=2, num_rows=6, num_cols=6)  # the spaces follow the arguments
    assert small.observation_space["grid"].shape == (6, 6, 5) == small.reset(jax.random.key(0))[1]["grid"].shape[1:]
    assert small.observation_space["step_count"] == env.observation_space["step_count"]  # Snake's own limit, 4000
    state, obs = flat.reset(jax.random.key(0))
    assert obs.shape == (8, 725) and obs.dtype == jnp.float32


def test_jumanji_dataclass_observations_a_safety_time_limit_and_no_suite_warnings():
    """BinPack's observation holds dataclasses (``Space``, ``Item``) beside arrays: they convert to
    nested Dict spaces matching the observations. BinPack has no time limit of its own: it gets the
    adapter's safety limit, so it trains and evaluates. Tracing it raises none of its scatter warnings."""
    pytest.importorskip("jumanji", reason='pip install "lagomjax[jumanji]"')
    from lagomjax.envs.suites import jumanji as adapter

    env = envs.make("jumanji:BinPack-v2", num_envs=2)
    space = env.observation_space
    assert isinstance(space["ems"], gym.spaces.Dict) and sorted(space["ems"].spaces) == [
        "x1",
        "x2",
        "y1",
        "y2",
        "z1",
        "z2",
    ]
    assert isinstance(space["items"], gym.spaces.Dict) and space["items"]["x_len"].shape == (20,)
    assert envs.time_limit("jumanji:BinPack-v2") == adapter.SAFETY_LIMIT
    assert env.action_space == gym.spaces.MultiDiscrete([40, 20])
    with warnings.catch_warnings():  # traced, not compiled: the warnings come at trace time, shapes too
        warnings.simplefilter("error")
        state, obs = jax.eval_shape(env.reset, jax.random.key(0))
        action = jax.ShapeDtypeStruct((2, 2), jnp.int32)
        _, obs, *_ = jax.eval_shape(env.step, jax.random.key(2), state, action)
    assert set(obs["ems"]) == set(space["ems"].spaces) and set(obs["items"]) == set(space["items"].spaces)
    flat = envs.FlattenObservation(env)  # one vector: 6 x 40 + 40 + 3 x 20 + 20 + 20 + 40 x 20
    assert flat.observation_space.shape == (1180,)
    assert jax.eval_shape(flat.reset, jax.random.key(0))[1].shape == (2, 1180)
    assert obs["ems"]["x1"].shape == (2, 40) and obs["ems"]["x1"].dtype == jnp.float32


def test_jumanji_draws_through_its_own_viewer(tmp_path):
    """Jumanji ids draw through Jumanji's own matplotlib viewer in its rgb_array mode: the frames a
    SnakeViewer(render_mode='rgb_array') draws, for a 6 x 6 Snake too (the viewer reads the state's
    grid), and an episode records as a GIF; an id whose environment keeps no viewer is refused."""
    pytest.importorskip("jumanji", reason='pip install "lagomjax[jumanji]"')
    from jumanji.environments.routing.snake.viewer import SnakeViewer

    from lagomjax import vis

    env = envs.make("jumanji:Snake-v1", num_rows=6, num_cols=6, auto_reset=False, episode_statistics=False)
    reset = jax.jit(env.reset)
    states = [vis._innermost(reset(jax.random.key(k))[0]) for k in (0, 1)]
    frames = [vis.render_frame("jumanji:Snake-v1", s) for s in states]
    assert frames[0].shape == (400, 400, 3) and frames[0].dtype == np.uint8 and frames[0].std() > 10.0
    assert not np.array_equal(*frames)  # two seeds, two boards
    own = SnakeViewer("own", render_mode="rgb_array")
    own.figure_size = (4.0, 4.0)
    np.testing.assert_array_equal(frames[1], np.asarray(own.render(jax.device_get(states[1])))[..., :3])
    own.close()
    six = {"num_rows": 6, "num_cols": 6}
    gif = vis.record_episode("jumanji:Snake-v1", lambda obs, p: (jnp.int32(0), p), jax.random.key(0),
                             tmp_path / "snake.gif", max_steps=3, env_kwargs=six)  # fmt: skip
    assert gif.exists()
    with pytest.raises(ValueError, match="'jumanji:GraphColoring-v1' was registered without a render hook"):
        vis.check_video_path(tmp_path / "g.gif", "jumanji:GraphColoring-v1")


def test_a_jumanji_id_that_cannot_fetch_its_data_is_a_value_error(monkeypatch):
    """Sokoban downloads its levels when made; offline, that is one ValueError naming the id (the
    command line prints it in one line), not a traceback from the Hugging Face hub."""
    jumanji = pytest.importorskip("jumanji", reason='pip install "lagomjax[jumanji]"')
    from lagomjax.envs.suites import jumanji as adapter

    def offline(name, **kwargs):
        raise FileNotFoundError("cannot find the requested files in the local cache")

    monkeypatch.setattr(jumanji, "make", offline)
    with pytest.raises(ValueError, match="jumanji:Sokoban-v0 could not be made .*local cache"):
        adapter._register("Sokoban-v0")


@pytest.mark.slow
@pytest.mark.parametrize(
    "env_id, extra, steps, overrides, random_return, threshold",
    [
        ("brax:inverted_pendulum", "brax", 16_384, {"num_envs": 16, "num_steps": 64}, 7.0, 30.0),
        ("jumanji:Snake-v1", "jumanji", 65_536, {"num_envs": 32, "num_steps": 32, "lr": 5e-3, "ent_coef": 0.01,
                                                 "hidden_sizes": (64,), "update_epochs": 4}, 0.1, 0.3),
    ],
)  # fmt: skip
def test_ppo_beats_the_random_policy(env_id, extra, steps, overrides, random_return, threshold):
    """A short PPO run through each adapter learns well past the untrained policy's return (brax's
    pendulum: about 7 steps balanced; Snake, its dict observation flattened: about 0.1 fruit), and its
    final evaluation runs on the suite's environments (built outside the trace: Jumanji builds with jnp).
    Craftax has its own test below."""
    pytest.importorskip(extra, reason=f'pip install "lagomjax[{extra}]"')
    from lagomjax.algos import ppo

    config = ppo.Config(env_id=env_id, total_steps=steps, eval_episodes=8, **overrides)
    _, metrics = jax.jit(ppo.make_train(config))(jax.random.key(0))
    returns = np.asarray(metrics["episode_return"])
    first, last = float(np.nanmean(returns[:3])), float(np.nanmean(returns[-3:]))
    assert abs(first - random_return) < 0.5 * random_return, first
    assert last >= threshold, (first, last)
    assert np.isfinite(float(metrics["eval_return"]))
    if env_id.startswith("brax"):
        assert float(metrics["eval_return"]) >= threshold, metrics["eval_return"]


@pytest.mark.slow
def test_ppo_learns_craftax_classic_past_the_random_policy():
    """Craftax-Classic (symbolic) with a pool of 4 resets per step for 32 environments (a world
    generation costs about 10x a step; the pool made this run 3.4x faster here). Uniform random
    actions score about 1.5 per episode (64 episodes, 1.1 at the median); 65k steps of PPO end their
    training near 3.2, and the first tenth of training is still at the random policy's level."""
    pytest.importorskip("craftax", reason='pip install "lagomjax[craftax]"')
    from lagomjax.algos import ppo

    config = ppo.Config(env_id="craftax:Craftax-Classic-Symbolic-v1", total_steps=65_536, num_envs=32, num_steps=32,
                        lr=3e-4, ent_coef=0.01, update_epochs=4, num_minibatches=4, eval_episodes=4,
                        reset_pool=4)  # fmt: skip
    _, metrics = jax.jit(ppo.make_train(config))(jax.random.key(0))
    returns = np.asarray(metrics["episode_return"])
    tenth = len(returns) // 10
    first, last = float(np.nanmean(returns[:tenth])), float(np.nanmean(returns[-tenth:]))
    assert first < 2.0 and last >= 2.5, (first, last)
    assert np.isfinite(float(metrics["eval_return"]))


@pytest.mark.slow
def test_playground_dm_control_steps_as_the_bare_env_and_only_truncates():
    """MuJoCo Playground's DM Control cartpole through the adapter: the bare task's observations and
    rewards from the same states; DM Control tasks never end by themselves, so every episode end is
    the time limit, a truncation (Playground's own wrapper reports it through ``done``)."""
    playground = pytest.importorskip("mujoco_playground", reason='pip install "lagomjax[playground]"')
    bare = playground.dm_control_suite.load("CartpoleSwingup", config_overrides={"impl": "jax"})
    env = envs.make("playground:CartpoleSwingup", num_envs=3, episode_statistics=False, max_episode_steps=7)
    assert env.observation_space.shape == (5,) and env.action_space == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    assert envs.time_limit("playground:CartpoleSwingup") == 1000
    assert "playground:WalkerWalk" in envs.registered(suites=True)

    run = scan_beside_bare(env, bare, 3, 20)
    # reset under jit: an eager MJX reset mixes committed and uncommitted arrays, a different jit signature
    (state, obs), out = run(*jax.jit(env.reset)(jax.random.key(0)), jax.random.key(1))
    next_obs, ref_obs, reward, ref_reward, te, tr, _, t = out
    np.testing.assert_allclose(next_obs, ref_obs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(reward, ref_reward, atol=1e-6)
    assert bool((reward > 0).all()) and bool((reward <= 1).all())  # DM Control's rewards lie in [0, 1]
    assert not bool(te.any())
    np.testing.assert_array_equal(tr, t + 1 >= 7)
    assert obs.dtype == jnp.float32 and state.inner.obs.shape == (3, 5)
    run(state, obs, jax.random.key(2))
    assert run._cache_size() == 1


@pytest.mark.slow
def test_ppo_learns_dm_control_cartpole_swingup_past_the_random_policy():
    """DM Control's swing-up on MuJoCo Playground: Gaussian random actions (std 1, clipped) score
    about 37 per 1000-step episode, no force at all 0 (the pole hangs down); 65k steps of PPO with
    normalised observations and rewards score 188 with the deterministic policy here (the bar: 100)."""
    pytest.importorskip("mujoco_playground", reason='pip install "lagomjax[playground]"')
    from lagomjax.algos import ppo

    config = ppo.Config(env_id="playground:CartpoleSwingup", total_steps=65_536, num_envs=32, num_steps=64,
                        update_epochs=10, num_minibatches=32, lr=3e-4, normalize_obs=True, normalize_reward=True,
                        eval_episodes=4)  # fmt: skip
    _, metrics = jax.jit(ppo.make_train(config))(jax.random.key(0))
    assert float(metrics["eval_return"]) >= 100.0, metrics["eval_return"]


def test_brax_and_playground_draw_as_the_suites_own_render():
    """The render hook of brax and Playground ids (MuJoCo's renderer, one state at a time, model and
    renderer kept) draws exactly what the suite's own ``render`` draws for the same physics state,
    and follows it. The states are plain records of what both read (brax's pipeline state ``q``,
    ``qd``; Playground's ``data``), so nothing compiles; MUJOCO_GL=egl comes from conftest."""
    pytest.importorskip("brax", reason='pip install "lagomjax[brax]"')
    pytest.importorskip("mujoco_playground", reason='pip install "lagomjax[playground]"')
    from types import SimpleNamespace as Record

    from lagomjax import vis

    for env_id in ("playground:CartpoleSwingup", "brax:inverted_pendulum"):
        bare = envs.make(env_id, auto_reset=False, episode_statistics=False).unwrapped.env
        model = bare.mj_model if hasattr(bare, "mj_model") else bare.sys.mj_model
        states, own = [], []
        for shift in (0.0, 0.5):
            qpos, qvel = model.qpos0 + shift, np.zeros(model.nv)
            if env_id.startswith("playground"):
                mocap = {
                    "mocap_pos": np.zeros((model.nmocap, 3)),
                    "mocap_quat": np.tile([1.0, 0, 0, 0], (model.nmocap, 1)),
                }
                data = Record(qpos=qpos, qvel=qvel, xfrc_applied=np.zeros((model.nbody, 6)), **mocap)
                states.append(Record(data=data))
                own.append(states[-1])
            else:
                states.append(Record(pipeline_state=Record(q=qpos, qd=qvel)))
                own.append(states[-1].pipeline_state)
        first, second = (vis.render_frame(env_id, s) for s in states)
        assert first.shape == (240, 320, 3) and first.dtype == np.uint8 and first.std() > 1.0, env_id
        assert not np.array_equal(first, second), env_id
        np.testing.assert_array_equal(second, bare.render(own[1:], height=240, width=320)[0])


def test_craftax_draws_through_its_own_pixel_renderer():
    """Craftax ids draw through Craftax's pixel renderer (16 pixels per block: a 9 x 9-block view is
    144 x 144 for Classic), as uint8 frames that follow the world (two seeds, two worlds)."""
    pytest.importorskip("craftax", reason='pip install "lagomjax[craftax]"')
    from lagomjax import vis

    env_id = "craftax:Craftax-Classic-Symbolic-v1"
    env = envs.make(env_id, auto_reset=False, episode_statistics=False)
    reset = jax.jit(env.reset)  # Craftax's world generation: 2.4 s compiled, 8.6 s op by op
    frames = [vis.render_frame(env_id, vis._innermost(reset(jax.random.key(k))[0])) for k in (0, 1)]
    assert frames[0].shape == (144, 144, 3) and frames[0].dtype == np.uint8 and frames[0].std() > 10.0
    assert not np.array_equal(*frames)
