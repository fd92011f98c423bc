import numpy as np
import pytest
from scipy.signal import savgol_filter

from lagomjax.transform import describe, interp_curves, smooth_filter


def test_smooth_filter_is_savgol_and_checks():
    x = np.sin(np.linspace(0, 3, 40)) + np.random.default_rng(0).normal(0, 0.1, 40)
    np.testing.assert_allclose(smooth_filter(x, 7, 2), savgol_filter(x, 7, 2))
    # a quadratic is reproduced exactly by a quadratic filter
    q = np.linspace(-1, 1, 21) ** 2
    np.testing.assert_allclose(smooth_filter(q, 5, 2), q, atol=1e-12)
    with pytest.raises(ValueError, match="window_length"):
        smooth_filter(x, 3, 3)


def test_interp_curves_shared_grid():
    xs = [np.array([0.0, 10.0]), np.array([5.0, 20.0])]
    ys = [np.array([0.0, 10.0]), np.array([1.0, 1.0])]
    new_x, new_ys = interp_curves(xs, ys, num_point=5)
    np.testing.assert_allclose(new_x, [0, 5, 10, 15, 20])
    np.testing.assert_allclose(new_ys[0], [0, 5, 10, 10, 10])
    np.testing.assert_allclose(new_ys[1], [1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="same number of curves"):
        interp_curves(xs, ys[:1])


def test_describe():
    d = describe([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    assert d.count == 3
    np.testing.assert_allclose(d.mean, [2, 4])
    np.testing.assert_allclose(d.std, [np.std([1, 2, 3]), np.std([2, 4, 6])])
    np.testing.assert_allclose(d.min, [1, 2])
    np.testing.assert_allclose(d.max, [3, 6])
    assert "count=3" in repr(d)
    empty = describe([])
    assert empty.count == 0 and np.isnan(empty.mean)
