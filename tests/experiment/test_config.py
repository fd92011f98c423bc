"""lagom's configs: API.md's example exactly, samples from a seeded generator, conditions, order."""

import numpy as np
import pytest

from lagomjax.experiment import Condition, Config, Grid, Sample


def test_api_example_exactly():
    items = {"log.dir": "some path", "network.lr": Grid([1e-3, 5e-3]), "env.id": Grid(["CartPole-v1", "Ant-v2"])}
    configs = Config(items).make_configs()
    assert [(c["ID"], c["env.id"], c["network.lr"]) for c in configs] == [
        (0, "CartPole-v1", 1e-3),
        (1, "Ant-v2", 1e-3),
        (2, "CartPole-v1", 5e-3),
        (3, "Ant-v2", 5e-3),
    ]
    assert all(c["log.dir"] == "some path" for c in configs)
    assert list(configs[0]) == ["ID", "log.dir", "network.lr", "env.id"]  # lagom: fixed, then grids
    ordered = Config(items, keep_dict_order=True).make_configs()
    assert list(ordered[0]) == ["ID", "log.dir", "network.lr", "env.id"]


def test_sample_seeded_and_condition():
    items = {
        "lr": Sample(lambda rng: float(10 ** rng.uniform(-4, -2))),
        "legacy": Sample(lambda: float(np.random.uniform())),  # noqa: NPY002
        "env": Grid(["a", "b"]),
        "batch": Condition(lambda c: 64 if c["env"] == "a" else 32),
    }
    a = Config(items, num_sample=3, seed=7).make_configs()
    b = Config(items, num_sample=3, seed=7).make_configs()
    c = Config(items, num_sample=3, seed=8).make_configs()
    assert len(a) == 6 and [x["ID"] for x in a] == list(range(6))
    assert a == b and [x["lr"] for x in a] != [x["lr"] for x in c]
    assert len({x["lr"] for x in a}) == 6 and all(1e-4 <= x["lr"] <= 1e-2 for x in a)
    assert [x["batch"] for x in a] == [64, 32] * 3
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    Config(items, num_sample=2).make_configs()
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002 - the global state is left alone


def test_lagom_key_order_samples_and_num_sample_without_samples():
    items = {"s": Sample(lambda: 1.0), "g": Grid([1, 2]), "f": "x", "c": Condition(lambda c: c["g"] * 2), "h": 3}
    configs = Config(items, num_sample=2).make_configs()
    assert list(configs[0]) == ["ID", "f", "c", "h", "g", "s"]  # fixed and conditions in item order, grids, samples
    assert [c["c"] for c in configs] == [2, 4, 2, 4]
    assert list(Config(items, keep_dict_order=True).make_configs()[0]) == ["ID", "s", "g", "f", "c", "h"]
    # no Sample item: each grid point once, whatever num_sample says
    assert [c["g"] for c in Config({"g": Grid([1, 2]), "f": 0}, num_sample=3).make_configs()] == [1, 2]
    # a zero-argument sampler called directly, as lagom users do
    assert Sample(lambda: 5)() == 5 and 0.0 <= Sample(lambda rng: rng.uniform())() < 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="num_sample"):
        Config({"a": Grid([1, 2])}, num_sample=0)
    with pytest.raises(TypeError, match="dict"):
        Config([1, 2])
    with pytest.raises(ValueError, match="'ID' is reserved"):
        Config({"ID": 3, "x": Grid([1, 2])})
    with pytest.raises(ValueError, match="at least one"):
        Grid([])
