import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lagomjax.networks import MLP, CategoricalHead, from_vec, linear_lr_scheduler, load, num_params, save, to_vec


def make_params(hidden=(8, 8), key=0):
    return MLP(hidden).init(jax.random.key(key), jnp.ones((1, 3)))


def test_to_vec_from_vec_round_trip_and_count():
    params = make_params()
    vec = to_vec(params)
    assert vec.shape == (num_params(params),) == ((3 * 8 + 8) + (8 * 8 + 8),)
    back = from_vec(vec, params)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)), params, back))
    assert jax.tree.structure(back) == jax.tree.structure(params)
    with pytest.raises(ValueError, match=r"vec must have shape \(104,\)"):
        from_vec(jnp.zeros(5), params)


def test_save_load_round_trip_and_mismatch_errors(tmp_path):
    params = make_params()
    path = save(params, tmp_path / "params.msgpack")
    loaded = load(path, make_params(key=1))
    np.testing.assert_array_equal(to_vec(loaded), to_vec(params))
    with pytest.raises(ValueError, match=r"Dense_1/kernel: file has shape \(8, 8\).*wants \(8, 16\)"):
        load(path, make_params(hidden=(8, 16)))
    with pytest.raises(ValueError, match="missing /params/Dense_2"):
        load(path, make_params(hidden=(8, 8, 8)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.msgpack"]  # atomic: no temp file left


def test_vmapped_init_gives_different_parameter_sets():
    head = CategoricalHead(3, 2)
    keys = jax.random.split(jax.random.key(0), 8)
    params = jax.vmap(lambda k: head.init(k, jnp.ones((1, 3))))(keys)
    kernels = np.asarray(params["params"]["Dense_0"]["kernel"]).reshape(8, -1)
    assert kernels.shape == (8, 6)
    assert len({tuple(np.round(k, 7)) for k in kernels}) == 8


def test_linear_lr_scheduler():
    sched = linear_lr_scheduler(1e-3, N=10, min_lr=1e-4)
    np.testing.assert_allclose([sched(0), sched(5), sched(10), sched(20)], [1e-3, 5.5e-4, 1e-4, 1e-4], rtol=1e-6)
    opt = optax.adam(sched)
    state = opt.init(jnp.zeros(2))
    opt.update(jnp.ones(2), state)
    with pytest.raises(ValueError, match="min_lr"):
        linear_lr_scheduler(1e-4, 10, min_lr=1e-3)
