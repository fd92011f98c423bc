import numpy as np
import pytest

from lagomjax import es


@pytest.mark.parametrize(
    "cls, opts, target",
    [
        (es.CMAES, {"seed": 1}, 1e-10),
        (es.CMAES, {"backend": "pycma", "seed": 1}, 1e-10),
        (es.CMAES, {"decomposition": "cholesky"}, 1e-10),
        (es.CEM, {"popsize": 60, "elite_ratio": 0.2}, 1e-4),
        (es.OpenAIES, {"popsize": 40, "lr": 0.05, "sigma_final": 0.01, "sigma_decay_steps": 150}, 1e-2),
    ],
)
def test_lagom_style_loop(cls, opts, target):
    solver = cls(np.full(5, 0.5), 0.5, opts)
    for _ in range(200):
        solutions = solver.ask()
        solver.tell(solutions, [float(np.sum(x**2)) for x in solutions])
    r = solver.result
    assert r.fbest < target
    assert r.iterations == 200 and r.evaluations == 200 * len(solutions)
    assert r.xbest.shape == r.xfavorite.shape == r.stds.shape == (5,)


def test_switching_backend_is_one_option_and_errors():
    for backend in ("jax", "pycma"):
        solver = es.CMAES([0.5] * 4, 0.3, {"backend": backend, "popsize": 8})
        x = solver.ask()
        assert x.shape == (8, 4)
        with pytest.raises(ValueError, match="function_values|fitness"):
            solver.tell(x, np.zeros(5))
    with pytest.raises(ValueError, match="unknown CMAES opts"):
        es.CMAES([0.0], 1.0, {"popsize": 4, "typo": 1})
    with pytest.raises(ValueError, match="backend"):
        es.CMAES([0.0], 1.0, {"backend": "torch"})
