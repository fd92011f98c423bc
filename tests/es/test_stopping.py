"""Stopping conditions and guards of the evolution strategies: pycma's tolfun/tolx/conditioncov/
tolupsigma for CMA-ES, flat fitness, collapse and non-finite updates for every strategy, and the
memory check before a full covariance is allocated."""

import cma
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.es import CEM, CMAES, cem, cmaes, openai_es
from lagomjax.es.base import STOP_CONDITIONS
from lagomjax.es.objectives import sphere


def _run(es, state, generations, objective=sphere):
    def gen(state, key):
        x, state = es.ask(key, state)
        state = es.tell(state, x, objective(x))
        stop = es.result(state).stop
        return state, jnp.stack([stop[k] for k in sorted(stop)])

    keys = jax.random.split(jax.random.key(0), generations)
    state, flags = jax.jit(lambda s: jax.lax.scan(gen, s, keys))(state)
    return state, {k: np.asarray(flags[:, i]) for i, k in enumerate(sorted(es.result(state).stop))}


def test_cmaes_stops_on_tolfun_about_when_pycma_does_and_never_turns_nan():
    es = cmaes(popsize=10)
    state, flags = _run(es, es.init(jnp.full(10, 0.5), 0.5), 3_000)  # pycma's run ends near 200
    first = int(np.argmax(flags["tolfun"]))
    ref = cma.CMAEvolutionStrategy(np.full(10, 0.5), 0.5, {"popsize": 10, "seed": 1, "verbose": -9})
    while not ref.stop():
        x = ref.ask()
        ref.tell(x, [float(np.sum(np.square(v))) for v in x])
    assert "tolfun" in ref.stop()
    assert flags["tolfun"][first:].all() and 0.5 * ref.countiter < first + 1 < 2 * ref.countiter
    r = es.result(state)
    assert bool(r.stop["tolfun"]) and float(r.fbest) < 1e-11
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(state))
    assert int(r.iterations) == 3_000 and int(r.evaluations) == 30_000  # counting goes on; the search stops
    stopped_mean = np.asarray(es.result(_run(es, es.init(jnp.full(10, 0.5), 0.5), first + 5)[0]).xfavorite)
    np.testing.assert_array_equal(np.asarray(r.xfavorite), stopped_mean)


@pytest.mark.parametrize(
    ("change", "flag"),
    [
        (lambda s: s.replace(sigma=s.sigma * 1e21), "tolupsigma"),
        (lambda s: s.replace(sigma=s.sigma * 1e-13), "tolx"),
        (lambda s: s.replace(C=jnp.diag(jnp.array([1.0, 1.0, 1e15])), factor=jnp.diag(jnp.array([1.0, 1.0, 3.2e7]))),
         "conditioncov"),
    ],
)  # fmt: skip
def test_cmaes_reports_each_condition_and_then_holds_its_distribution(change, flag):
    es = cmaes(popsize=6, decomposition="eigh")
    state = change(es.init(jnp.ones(3), 1.0))
    assert bool(es.result(state).stop[flag])
    x, asked = es.ask(jax.random.key(1), state)
    told = es.tell(asked, x, sphere(x))
    np.testing.assert_array_equal(told.mean, state.mean)
    np.testing.assert_array_equal(told.C, state.C)
    assert int(told.best.evaluations) == 6


def test_flat_fitness_is_reported_and_the_search_goes_on():
    es = cmaes(popsize=6)
    state = es.init(jnp.ones(3), 1.0)
    x, state = es.ask(jax.random.key(0), state)
    state = es.tell(state, x, jnp.zeros(6))
    stop = es.result(state).stop
    assert bool(stop["flatfitness"]) and not bool(stop["tolfun"]) and float(state.sigma) > 0
    assert set(stop) == set(STOP_CONDITIONS)


def test_a_tell_that_would_make_the_distribution_non_finite_is_refused():
    for es in (cem(popsize=6), openai_es(popsize=6), cmaes(popsize=6)):
        state = es.init(jnp.ones(3), 1.0)
        x, state = es.ask(jax.random.key(0), state)
        told = es.tell(state, jnp.full_like(x, jnp.inf), jnp.arange(6.0))
        r = es.result(told)
        assert bool(r.stop["nonfinite"]), es
        np.testing.assert_array_equal(r.xfavorite, jnp.ones(3))
        assert int(r.evaluations) == 6


def test_cem_collapse_is_reported():
    es = cem(popsize=8, elite_ratio=0.25)
    state, flags = _run(es, es.init(jnp.ones(4), 0.0), 3)
    assert flags["sigmacollapse"].all()
    assert not flags["nonfinite"].any()


def test_stateful_wrappers_report_stop_like_pycma():
    ours = CMAES(np.full(4, 0.5), 0.5, {"popsize": 8})
    ref = CMAES(np.full(4, 0.5), 0.5, {"popsize": 8, "backend": "pycma"})
    for es in (ours, ref):
        for _ in range(400):
            x = es.ask()
            es.tell(x, [float(np.sum(np.square(v))) for v in x])
            if any(bool(v) for v in es.result.stop.values()):
                break
        assert es.result.stop.get("tolfun") or es.result.stop.get("tolx"), es.backend
    assert "flatfitness" in CEM(np.zeros(2), 1.0, {"popsize": 4}).result.stop


def test_full_covariance_too_large_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"diagonal=True"):
        cmaes(popsize=10).init(jnp.zeros(50_000), 0.5)
    with pytest.raises(ValueError, match=r"dimension 100 needs about"):
        cmaes(popsize=10, max_memory=1e5).init(jnp.zeros(100), 0.5)
    assert cmaes(popsize=10, diagonal=True).init(jnp.zeros(50_000), 0.5).C.shape == (50_000,)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="sigma_final"):
        openai_es(popsize=4, sigma_final=0.0)
    with pytest.raises(ValueError, match="lr"):
        openai_es(popsize=4, lr=-1.0)
    with pytest.raises(ValueError, match="tolfun"):
        cmaes(popsize=4, tolfun=-1.0)
    es = cmaes(popsize=4)
    state = es.init(jnp.ones(3), 1.0)
    with pytest.raises(ValueError, match=r"solutions must be \[popsize, D\] = \(4, 3\)"):
        es.tell(state, jnp.ones((4, 5)), jnp.ones(4))
