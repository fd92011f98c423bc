"""Every algorithm: short learning tests (fixed seed, threshold far above a random policy), the
train(key) contract, dtype-stable states, no recompiles, chunked runs equal one program, configs."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import algos
from lagomjax.algos import ddpg, dqn, es_policy, ppo, sac, td3, vpg
from lagomjax.train import run_seeds

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


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SHORT_RUNS))
def test_learns_short(name):
    module, overrides, threshold = SHORT_RUNS[name]
    config = module.Config(**overrides)
    _, metrics = jax.jit(module.make_train(config))(jax.random.key(0))
    assert metrics["env_steps"].shape == (config.num_updates,)
    assert np.all(np.diff(np.asarray(metrics["env_steps"])) > 0)
    assert float(metrics["eval_return"]) >= threshold, (name, float(metrics["eval_return"]))


def test_every_algorithm_is_importable_by_name_with_the_pinned_entry_points():
    assert algos.NAMES == ("ppo", "vpg", "dqn", "ddpg", "td3", "sac", "es_policy")
    for name in algos.NAMES:
        module = algos.get(name)
        assert dataclasses.is_dataclass(module.Config) and module.Config.__dataclass_params__.frozen
        assert callable(module.make_train) and callable(module.make_parts) and isinstance(module.NAME, str)
    with pytest.raises(ValueError, match="unknown algorithm"):
        algos.get("a3c")


def test_pinned_ppo_config_fields_and_defaults():
    config = ppo.Config(
        env_id="CartPole-v1", num_envs=4, num_steps=128, total_steps=500_000, update_epochs=4, num_minibatches=4,
        lr=2.5e-4, gamma=0.99, gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5,
    )  # fmt: skip
    assert config.num_updates == 976 and config.minibatch_size == 128
    defaults = ppo.Config()
    assert (defaults.lr, defaults.update_epochs, defaults.ent_coef, defaults.lstm_size) == (1e-3, 8, 0.0, 0)
    with pytest.raises(ValueError, match="divisible"):
        ppo.Config(num_envs=3, num_steps=5, num_minibatches=4)
    with pytest.raises(ValueError, match="whole sequences"):
        ppo.Config(num_envs=6, num_steps=4, num_minibatches=4, lstm_size=8)


def test_ddpg_and_td3_share_one_implementation():
    assert td3.make_agent is ddpg.make_agent and issubclass(td3.Config, ddpg.Config)
    assert (ddpg.Config.num_critics, ddpg.Config().policy_delay) == (1, 1)
    assert (td3.Config.num_critics, td3.Config().policy_delay, td3.Config().target_noise) == (2, 2, 0.2)


def test_ppo_learns_cartpole_short():
    """A fixed seed, 60k steps: the deterministic policy balances far above random (~22)."""
    config = ppo.Config(total_steps=60_000)
    _, metrics = jax.jit(ppo.make_train(config))(jax.random.key(0))
    assert int(metrics["env_steps"][-1]) == config.num_updates * config.batch_size
    assert float(metrics["eval_return"]) >= 300.0, float(metrics["eval_return"])
    returns = np.asarray(metrics["episode_return"])
    assert np.nanmean(returns[-10:]) > 3 * np.nanmean(returns[:5])


@pytest.mark.slow
def test_ppo_value_clipping_is_the_pessimistic_loss():
    """With clip_value the value loss is max(plain, clipped around the rollout's values): equal while
    the values have not moved (the first step of an update), larger once a big step moves them."""
    base = dict(total_steps=4 * 32, num_envs=4, num_steps=32, num_minibatches=1, lr=0.05, anneal_lr=False)
    v_loss = {}
    for epochs in (1, 3):
        for clip in (False, True):
            parts = ppo.make_parts(ppo.Config(**base, update_epochs=epochs, clip_value=clip))
            _, m = jax.jit(lambda k, p=parts: p.update(p.init(k), 0))(jax.random.key(0))  # the first update only
            v_loss[epochs, clip] = float(m["v_loss"])
    assert v_loss[1, True] == pytest.approx(v_loss[1, False], rel=1e-6)
    assert v_loss[3, True] > 1.1 * v_loss[3, False], v_loss
    with pytest.raises(ValueError, match="adam_eps"):
        ppo.Config(adam_eps=0.0)


@pytest.mark.parametrize("module", [ppo, vpg, dqn, ddpg, td3, sac, es_policy], ids=lambda m: m.NAME)
def test_state_dtypes_are_stable(module):
    """``update`` returns a state with the same structure, shapes and dtypes (checked abstractly)."""
    config = module.Config(**({"total_steps": 2_048} if hasattr(module.Config, "total_steps") else {}))
    parts = module.make_parts(config)
    state = jax.eval_shape(parts.init, jax.random.key(0))
    new_state, metrics = jax.eval_shape(parts.update, state, jnp.int32(0))
    same = jax.tree.map(lambda a, b: (a.shape, a.dtype) == (b.shape, b.dtype), state, new_state)
    assert all(jax.tree.leaves(same))
    assert {"env_steps", "episode_return"} <= set(metrics)


@pytest.mark.parametrize("module, env_id", [(ppo, "CartPole-v1"), (vpg, "Pendulum-v1"), (sac, "Pendulum-v1"),
                                            (td3, "Pendulum-v1"), (dqn, "CartPole-v1")])  # fmt: skip
def test_no_hidden_layers_is_a_linear_policy(module, env_id):
    """``hidden_sizes=()``: the heads read the observations themselves (their width, not the last hidden size)."""
    parts = module.make_parts(module.Config(env_id=env_id, hidden_sizes=(), total_steps=2_048))
    state = jax.eval_shape(parts.init, jax.random.key(0))
    jax.eval_shape(parts.update, state, jnp.int32(0))
    obs_dim = {"CartPole-v1": 4, "Pendulum-v1": 3}[env_id]
    leaves = jax.tree_util.tree_leaves_with_path(state.agent)
    kernels = [x.shape for path, x in leaves if "kernel" in jax.tree_util.keystr(path)]
    assert kernels and all(k[-2] in (obs_dim, obs_dim + 1) for k in kernels), kernels  # Q(s, a) reads s and a


@pytest.mark.parametrize("module", [ppo, vpg], ids=lambda m: m.NAME)
def test_recurrent_state_dtypes_are_stable(module):
    config = module.Config(total_steps=2_048, lstm_size=8, num_envs=4, num_steps=16, **(
        {"num_minibatches": 2} if module is ppo else {}))  # fmt: skip
    parts = module.make_parts(config)
    state = jax.eval_shape(parts.init, jax.random.key(0))
    new_state, _ = jax.eval_shape(parts.update, state, jnp.int32(0))
    same = jax.tree.map(lambda a, b: (a.shape, a.dtype) == (b.shape, b.dtype), state, new_state)
    assert all(jax.tree.leaves(same)) and len(jax.tree.leaves(state.policy_state)) == 2


@pytest.mark.slow
def test_vmapped_seeds_no_recompile_and_chunked_equals_one_program():
    config = td3.Config(total_steps=1_200, learning_starts=500, eval_episodes=2)
    train = jax.jit(jax.vmap(td3.make_train(config)))
    keys = jax.random.split(jax.random.key(3), 2)
    _, m1 = train(keys)
    _, m2 = train(jax.random.split(jax.random.key(4), 2))
    assert train._cache_size() == 1
    assert m1["eval_return"].shape == (2,) and not np.allclose(m1["eval_return"], m2["eval_return"])
    _, chunked, _ = run_seeds(td3.make_parts(config), config, 2, seed=3, progress=False)
    # The same computation compiled as two programs: float32 rounding differs slightly, and through the
    # gradient steps the difference grows (on an AVX-512 EPYC the critic losses part by 1e-5 about 140
    # updates after learning starts, by 10% at the end). The first 100 learning updates agree tightly,
    # the final evaluation within a few percent.
    np.testing.assert_array_equal(chunked["env_steps"], m1["env_steps"])
    learning = slice(config.learning_starts, config.learning_starts + 100)
    np.testing.assert_allclose(chunked["critic_loss"][:, learning], m1["critic_loss"][:, learning], rtol=1e-4)
    np.testing.assert_allclose(chunked["eval_return"], m1["eval_return"], rtol=5e-2)


@pytest.mark.slow
def test_vmapped_pendulum_ppo_and_chunked_driver_equals_one_program():
    config = ppo.Config(
        env_id="Pendulum-v1", total_steps=6 * 512, normalize_obs=True, normalize_reward=True, eval_episodes=2
    )
    keys = jax.random.split(jax.random.key(1), 2)
    state, metrics = jax.jit(jax.vmap(ppo.make_train(config)))(keys)
    assert metrics["episode_return"].shape == (2, config.num_updates)
    # no Pendulum episode (200 steps x 4 envs) ends within the first update: NaN there, a value later
    assert np.isnan(metrics["episode_return"][0, 0]) and np.isfinite(metrics["episode_return"][0]).any()
    assert np.all(np.isfinite(metrics["eval_return"]))
    _, chunked, timing = run_seeds(ppo.make_parts(config), config, 2, seed=1, progress=False)
    # The same computation compiled as two programs (the chunked one also streams metrics to the
    # host): float32 rounding differs slightly and, through continuous actions and Pendulum's
    # dynamics, grows over updates. The first update agrees tightly, the end within a few percent.
    np.testing.assert_array_equal(chunked["env_steps"], metrics["env_steps"])
    for key in ("pg_loss", "v_loss", "entropy"):
        np.testing.assert_allclose(chunked[key][:, 0], metrics[key][:, 0], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(chunked["eval_return"], metrics["eval_return"], rtol=5e-2)
    assert timing["env_steps_per_s"] > 0


@pytest.mark.parametrize("module", [ppo, vpg, dqn], ids=lambda m: m.NAME)
def test_grad_clip_clips_the_global_norm_or_each_entry(module):
    """``grad_clip`` picks how ``max_grad_norm`` clips: the global norm over every parameter (the
    default), or each entry on its own (rejax's ``optax.clip``), checked against NumPy."""
    from lagomjax.algos.configs import gradient_clip

    grads = {"a": jnp.array([3.0, -0.25, 0.5]), "b": {"w": jnp.array([[-4.0, 0.75]])}}
    flat = np.concatenate([np.ravel(g) for g in jax.tree.leaves(grads)])
    for kind, want in (("global_norm", flat / np.linalg.norm(flat)), ("element", np.clip(flat, -1.0, 1.0))):
        clip = gradient_clip(module.Config(max_grad_norm=1.0, grad_clip=kind))
        out, _ = jax.jit(clip.update)(grads, clip.init(grads))
        np.testing.assert_allclose(np.concatenate([np.ravel(g) for g in jax.tree.leaves(out)]), want, rtol=1e-6)
    with pytest.raises(ValueError, match="grad_clip"):
        module.Config(grad_clip="value")


def test_ppo_update_uses_the_grad_clip_it_is_given():
    """The first PPO update's parameters differ between the two clips at a small ``max_grad_norm``
    (the optimizer is built from the config's clip, not a fixed one)."""
    base = dict(total_steps=4 * 32, num_envs=4, num_steps=32, num_minibatches=1, update_epochs=1, max_grad_norm=0.01)
    params = {}
    for kind in ("global_norm", "element"):
        parts = ppo.make_parts(ppo.Config(**base, grad_clip=kind))
        state, _ = jax.jit(lambda k, p=parts: p.update(p.init(k), 0))(jax.random.key(0))
        params[kind] = np.concatenate([np.ravel(x) for x in jax.tree.leaves(state.agent.params)])
    assert not np.allclose(params["global_norm"], params["element"]), "grad_clip changed nothing"


def test_configs_reject_bad_values():
    with pytest.raises(ValueError, match="total_steps"):
        dqn.Config(total_steps=10)
    with pytest.raises(ValueError, match="buffer_size"):
        dqn.Config(buffer_size=100)
    with pytest.raises(ValueError, match=r"learning_starts=5000 is past the run's last step \(total_steps=1000"):
        sac.Config(total_steps=1_000, learning_starts=5_000)  # trained nothing: random actions only
    assert sac.Config(total_steps=1_000, learning_starts=1_000).learning_starts == 1_000  # its last rollout learns
    with pytest.raises(ValueError, match="strategy"):
        es_policy.Config(strategy="nes")
    with pytest.raises(ValueError, match="lstm_size"):
        vpg.Config(lstm_size=-1)
    with pytest.raises(ValueError, match="gamma"):
        sac.Config(gamma=1.5)


WRONG_SPACES = [
    (sac, "CartPole-v1", "continuous"),
    (td3, "CartPole-v1", "continuous"),
    (dqn, "Pendulum-v1", "discrete"),
]


@pytest.mark.parametrize("module, env_id, want", WRONG_SPACES)
def test_wrong_action_space_is_named_before_compiling(module, env_id, want):
    with pytest.raises(ValueError, match=f"needs a {want}"):
        module.make_parts(module.Config(env_id=env_id, total_steps=2_048))
