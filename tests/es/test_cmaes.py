import cma
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import es

N, SEEDS, MAX_GEN, TARGET = 10, 5, 800, 1e-8
# Rosenbrock's evaluations spread widely (3.7k-5.4k here, and a run can stall in its local minimum):
# its medians against pycma take 15 seeds; every comparison with pycma runs up to 1,000 generations
ROSENBROCK_SEEDS, COMPARE_GENS = 15, 1000
PYCMA_FUNCS = {"sphere": cma.ff.sphere, "ellipsoid": cma.ff.elli, "rosenbrock": cma.ff.rosen}
OUR_FUNCS = {"sphere": es.sphere, "ellipsoid": es.ellipsoid, "rosenbrock": es.rosenbrock}


def run(strategy, f, keys, x0, sigma0=0.5, gens=MAX_GEN):
    """fbest after every generation for each key: [seeds, gens]. One compiled program for all seeds."""

    def one(key):
        def gen(carry, _):
            state, key = carry
            key, k = jax.random.split(key)
            x, state = strategy.ask(k, state)
            state = strategy.tell(state, x, f(x))
            return (state, key), strategy.result(state).fbest

        return jax.lax.scan(gen, (strategy.init(x0, sigma0), key), None, length=gens)[1]

    return np.asarray(jax.jit(jax.vmap(one))(keys))


def evals_to_target(fbest, popsize, allow_stalled=0):
    """Evaluations until ``fbest < TARGET`` per run; at most ``allow_stalled`` runs may never get
    there (counted as infinite, so the median stays honest)."""
    hits = [np.flatnonzero(row < TARGET) for row in fbest]
    assert sum(h.size == 0 for h in hits) <= allow_stalled, "runs did not reach the target"
    return [(h[0] + 1) * popsize if h.size else np.inf for h in hits]


def pycma_evals(name, seeds=SEEDS):
    out = []
    for seed in range(seeds):
        e = cma.CMAEvolutionStrategy(N * [0.5], 0.5, {"seed": seed + 1, "ftarget": TARGET, "verbose": -9})
        e.optimize(PYCMA_FUNCS[name])
        assert e.result.fbest < TARGET
        out.append(e.result.evaluations)
    return out


@pytest.mark.parametrize("name", ["sphere", "ellipsoid", "rosenbrock"])
def test_evaluations_to_1e_8_within_1_2x_of_pycma(name):
    """Median evaluations over seeds. On Rosenbrock the median was 1.06x pycma's over 15 seeds and
    1.10-1.20x over 5, depending only on how the CPU rounds (threaded or single-threaded matmuls)."""
    seeds = ROSENBROCK_SEEDS if name == "rosenbrock" else SEEDS
    popsize = es.default_popsize(N)
    strategy = es.cmaes(popsize)
    keys = jax.random.split(jax.random.key(0), seeds)
    fbest = run(strategy, OUR_FUNCS[name], keys, jnp.full(N, 0.5), gens=COMPARE_GENS)
    ours = np.median(evals_to_target(fbest, popsize, allow_stalled=seeds // 10))
    ref = np.median(pycma_evals(name, seeds))
    assert ours <= 1.2 * ref, (name, ours, ref)


@pytest.mark.parametrize("name", ["sphere", "ellipsoid", "rosenbrock"])
def test_cholesky_factorisation_also_converges(name):
    seeds = ROSENBROCK_SEEDS if name == "rosenbrock" else 3
    popsize = es.default_popsize(N)
    fbest = run(
        es.cmaes(popsize, decomposition="cholesky"),
        OUR_FUNCS[name],
        jax.random.split(jax.random.key(1), seeds),
        jnp.full(N, 0.5),
        gens=COMPARE_GENS,
    )
    ours = np.median(evals_to_target(fbest, popsize, allow_stalled=seeds // 10))
    assert ours <= 1.3 * np.median(pycma_evals(name, seeds)), (name, ours)


@pytest.mark.parametrize("name", ["sphere", "ellipsoid"])
def test_sep_cmaes_converges_on_separable_functions(name):
    fbest = run(es.cmaes(10, diagonal=True), OUR_FUNCS[name], jax.random.split(jax.random.key(2), 2), jnp.full(N, 0.5))
    evals_to_target(fbest, 10)


def test_default_parameters_match_the_tutorial():
    p = es.cmaes.__globals__["cmaes_params"](10, 10)
    w = np.asarray(p.weights)
    assert p.mu == 5 and np.isclose(w[:5].sum(), 1.0) and np.all(w[:5] > 0) and np.all(w[5:] < 0)
    np.testing.assert_allclose(p.mueff, 3.1672, rtol=1e-4)
    np.testing.assert_allclose(p.chi_n, np.sqrt(10) * (1 - 1 / 40 + 1 / 2100))
    assert p.gap == 1  # 1 / (10 n (c1 + cmu)) < 1 at n = 10
    mueff, n = p.mueff, 10
    np.testing.assert_allclose(p.cs, (mueff + 2) / (n + mueff + 5))
    np.testing.assert_allclose(p.cmu, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff))
    # c1 and cc are the same as pycma's (pycma tunes cmu and cs slightly differently)
    ref = cma.CMAEvolutionStrategy(10 * [0.5], 0.5, {"verbose": -9, "seed": 1}).sp
    np.testing.assert_allclose([p.c1, p.cc], [ref.c1, ref.cc], rtol=1e-6)


def test_lazy_refresh_every_gap_generations():
    strategy = es.cmaes(8, lazy_gap=3)
    state = strategy.init(jnp.zeros(4), 1.0)
    ask, tell = jax.jit(strategy.ask), jax.jit(strategy.tell)
    refreshed = []
    for g in range(7):
        x, state = ask(jax.random.key(g), state)
        refreshed.append(int(state.refreshed_at))
        state = tell(state, x, es.sphere(x))
    assert refreshed == [0, 0, 0, 3, 3, 3, 6]


@pytest.mark.parametrize("kw", [dict(), dict(decomposition="cholesky"), dict(diagonal=True)])
def test_compiles_once_and_keeps_dtypes(kw):
    traces = []
    strategy = es.cmaes(6, **kw)

    def ask(key, state):
        traces.append("ask")
        return strategy.ask(key, state)

    def tell(state, x, f):
        traces.append("tell")
        return strategy.tell(state, x, f)

    ask_j, tell_j = jax.jit(ask), jax.jit(tell)
    state = strategy.init(jnp.zeros(3), 0.3)
    sig = lambda s: jax.tree.map(lambda a: (a.shape, a.dtype, a.weak_type), s)  # noqa: E731
    first = sig(state)
    for g in range(3):
        x, state = ask_j(jax.random.key(g), state)
        state = tell_j(state, x, es.sphere(x))
    assert traces == ["ask", "tell"]
    assert sig(state) == first


def test_vmap_over_seeds_equals_separate_runs():
    strategy = es.cmaes(6)
    keys = jax.random.split(jax.random.key(3), 8)
    batched = run(strategy, es.rosenbrock, keys, jnp.zeros(4), gens=30)
    for i in (0, 5):
        single = run(strategy, es.rosenbrock, keys[i : i + 1], jnp.zeros(4), gens=30)
        np.testing.assert_allclose(batched[i], single[0], rtol=1e-5)


def test_best_so_far_and_nan_fitness_is_worst():
    strategy = es.cmaes(4)
    state = strategy.init(jnp.zeros(2), 1.0)
    x = jnp.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    state = strategy.tell(state, x, jnp.array([jnp.nan, 5.0, 1.0, 7.0]))
    r = strategy.result(state)
    assert float(r.fbest) == 1.0 and r.xbest.tolist() == [2.0, 2.0] and int(r.evals_best) == 3
    assert int(r.evaluations) == 4 and int(r.iterations) == 1
    # the NaN solution is ranked last: the mean moves towards the best solutions, not towards x[0]
    assert float(r.xfavorite[0]) > 1.0
    state = strategy.tell(state, x, jnp.array([3.0, 0.5, 9.0, 9.0]))
    r = strategy.result(state)
    assert float(r.fbest) == 0.5 and int(r.evals_best) == 6 and int(r.evaluations) == 8


def test_bad_input_raises():
    strategy = es.cmaes(4)
    state = strategy.init(jnp.zeros(3), 1.0)
    with pytest.raises(ValueError, match=r"fitness must be \[popsize\] = \(4,\), got shape \(5,\)"):
        strategy.tell(state, jnp.zeros((4, 3)), jnp.zeros(5))
    with pytest.raises(ValueError, match=r"solutions must be \[popsize, D\] = \(4, 3\)"):
        strategy.tell(state, jnp.zeros((4, 2)), jnp.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        strategy.init(jnp.array([0.0, jnp.inf]), 1.0)
    with pytest.raises(ValueError, match="finite"):
        strategy.init(jnp.zeros(2), float("nan"))
    for sigma0 in (0.0, -0.5):
        with pytest.raises(ValueError, match="sigma0 must be > 0"):
            strategy.init(jnp.zeros(2), sigma0)
    with pytest.raises(ValueError, match="popsize"):
        es.cmaes(1)
    with pytest.raises(ValueError, match="decomposition"):
        es.cmaes(4, decomposition="qr")
    with pytest.raises(ValueError, match="dim"):
        es.cmaes(None)


@pytest.mark.parametrize("kw", [dict(decomposition="cholesky"), dict(diagonal=True), dict(decomposition="eigh")])
def test_reusing_ask_draws_equals_whitening_the_told_solutions(kw):
    """tell reuses ask's z when told exactly the asked solutions; whitening them gives the same state."""
    strategy = es.cmaes(8, **kw)
    state = strategy.init(jnp.zeros(5), 0.7)
    ask, tell = jax.jit(strategy.ask), jax.jit(strategy.tell)
    for g in range(4):  # a few generations so that C is no longer the identity
        x, state = ask(jax.random.key(g), state)
        state = tell(state, x, es.ellipsoid(x))
    x, state = ask(jax.random.key(9), state)
    fast = tell(state, x, es.ellipsoid(x))
    slow = tell(state.replace(asked=jnp.full_like(state.asked, jnp.nan)), x, es.ellipsoid(x))
    for field in ("mean", "sigma", "C", "pc", "ps"):
        np.testing.assert_allclose(getattr(fast, field), getattr(slow, field), rtol=2e-4, atol=1e-6)
