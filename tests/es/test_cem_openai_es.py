import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lagomjax import es


def final_mean_and_best(strategy, f, x0, sigma0, gens, seed=0):
    def gen(carry, _):
        state, key = carry
        key, k = jax.random.split(key)
        x, state = strategy.ask(k, state)
        return (strategy.tell(state, x, f(x)), key), None

    (state, _), _ = jax.jit(lambda s: jax.lax.scan(gen, (s, jax.random.key(seed)), None, length=gens))(
        strategy.init(x0, sigma0)
    )
    return state, strategy.result(state)


def test_cem_solves_10d_sphere():
    state, r = final_mean_and_best(es.cem(100, elite_ratio=0.1), es.sphere, jnp.full(10, 0.5), 0.5, 200)
    assert float(es.sphere(r.xfavorite)) < 1e-8 and float(r.fbest) < 1e-8


def test_cem_extra_noise_schedule_widens_samples():
    strategy = es.cem(4000, noise_scheduler_args=(1.0, 0.0, 10, 0))
    state = strategy.init(jnp.zeros(2), 0.0)
    x, _ = strategy.ask(jax.random.key(0), state)
    np.testing.assert_allclose(x.std(0), 1.0, rtol=0.05)  # sqrt(0^2 + 1.0)


def test_openai_es_solves_10d_sphere():
    strategy = es.openai_es(50, lr=optax.linear_schedule(0.05, 0.001, 400), sigma_final=0.001, sigma_decay_steps=400)
    state, r = final_mean_and_best(strategy, es.sphere, jnp.full(10, 0.5), 0.5, 400)
    assert float(es.sphere(r.xfavorite)) < 1e-3


def test_openai_es_antithetic_and_gradient_direction():
    strategy = es.openai_es(6, lr=0.1)
    state = strategy.init(jnp.zeros(2), 1.0)
    x, _ = strategy.ask(jax.random.key(0), state)
    np.testing.assert_allclose(x[:3], -x[3:], rtol=1e-6)
    # f(x) = x_0: the mean must move to negative x_0
    for g in range(20):
        x, state = strategy.ask(jax.random.key(g), state)
        state = strategy.tell(state, x, x[:, 0])
    assert float(state.mean[0]) < -1.0
    with pytest.raises(ValueError, match="even"):
        es.openai_es(5)


@pytest.mark.parametrize(
    "strategy", [es.cem(8), es.openai_es(8, sigma_final=0.1, sigma_decay_steps=5, weight_decay=0.01)]
)
def test_compile_once_dtypes_vmap_and_errors(strategy):
    traces = []

    def step(key, state):
        traces.append(1)
        x, state = strategy.ask(key, state)
        return strategy.tell(state, x, es.sphere(x))

    f = jax.jit(step)
    state = strategy.init(jnp.ones(3), 0.5)
    sig = lambda s: jax.tree.map(lambda a: (a.shape, a.dtype, a.weak_type), s)  # noqa: E731
    first = sig(state)
    for g in range(3):
        state = f(jax.random.key(g), state)
    assert len(traces) == 1 and sig(state) == first
    keys = jax.random.split(jax.random.key(9), 4)
    batched = jax.vmap(lambda k: f(k, strategy.init(jnp.ones(3), 0.5)))(keys)
    np.testing.assert_allclose(batched.mean[2], f(keys[2], strategy.init(jnp.ones(3), 0.5)).mean, rtol=1e-6)
    with pytest.raises(ValueError, match="fitness must be"):
        strategy.tell(state, jnp.zeros((8, 3)), jnp.zeros(7))
    with pytest.raises(ValueError, match="finite"):
        strategy.init(jnp.array([jnp.nan, 0.0, 0.0]), 0.5)
    with pytest.raises(ValueError, match="sigma0 must be >=? 0"):
        strategy.init(jnp.zeros(3), -0.5)
    # NaN fitness is the worst: it never becomes the best
    state = strategy.init(jnp.ones(3), 0.5)
    state = strategy.tell(state, jnp.zeros((8, 3)), jnp.full(8, jnp.nan).at[3].set(2.0))
    assert float(strategy.result(state).fbest) == 2.0
