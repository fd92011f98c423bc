import os
import pickle
import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import utils


def test_set_global_seeds_and_seeder():
    key = utils.set_global_seeds(3)
    a = (random.random(), np.random.rand())  # noqa: NPY002
    utils.set_global_seeds(3)
    assert (random.random(), np.random.rand()) == a  # noqa: NPY002
    assert jax.random.key_data(key).tolist() == jax.random.key_data(jax.random.key(3)).tolist()
    assert utils.Seeder(0)(5) == utils.Seeder(0)(5)
    assert utils.Seeder(0)(5) != utils.Seeder(1)(5)
    assert np.array(utils.Seeder(0)([2, 3])).shape == (2, 3)
    with pytest.raises(ValueError, match="seed"):
        utils.set_global_seeds(-1)


def test_tensorify_numpify():
    x = utils.tensorify([[1.0, 2.0]])
    assert isinstance(x, jax.Array) and x.shape == (1, 2)
    y = utils.numpify(x, np.float64)
    assert isinstance(y, np.ndarray) and y.dtype == np.float64


def test_pickle_and_yaml_round_trip(tmp_path):
    obj = {"f": lambda x: x + 1, "a": np.arange(3)}
    path = utils.pickle_dump(obj, tmp_path / "obj")
    assert path.suffix == ".pkl"
    loaded = utils.pickle_load(path)
    assert loaded["f"](1) == 2 and loaded["a"].tolist() == [0, 1, 2]
    config = {"network.lr": 1e-3, "hidden": (64, 64), "env.id": "CartPole-v1", "n": np.int64(3), "z": 0.5}
    ypath = utils.yaml_dump(config, tmp_path / "config")
    assert ypath.name == "config.yml"
    assert utils.yaml_load(ypath) == {"network.lr": 1e-3, "hidden": [64, 64], "env.id": "CartPole-v1", "n": 3, "z": 0.5}
    assert list(utils.yaml_load(ypath)) == list(config)  # key order kept
    (tmp_path / "floats.yml").write_text("a: 1e-4\nb: -3E+5\nc: 1.5e-3\nd: '1e-4'\ne: 1e\nf: 10\ng: v1e5\n")
    floats = {"a": 1e-4, "b": -3e5, "c": 1.5e-3, "d": "1e-4", "e": "1e", "f": 10, "g": "v1e5"}
    assert utils.yaml_load(tmp_path / "floats.yml") == floats  # YAML 1.2's floats; quoted stays a string
    jax_values = {"lr": jnp.float32(0.5), "sizes": jnp.array([64, 32]), "on": jnp.bool_(True)}
    assert utils.yaml_load(utils.yaml_dump(jax_values, tmp_path / "jax")) == {"lr": 0.5, "sizes": [64, 32], "on": True}


def test_atomic_write_keeps_old_file_on_crash(tmp_path):
    path = utils.pickle_dump({"v": 1}, tmp_path / "state.pkl")

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("crash while writing")

    with pytest.raises(RuntimeError, match="crash while writing"):
        utils.pickle_dump({"v": 2, "bad": Unpicklable()}, path)
    assert utils.pickle_load(path) == {"v": 1}
    assert os.listdir(tmp_path) == ["state.pkl"]  # no temporary file left behind


def test_cloudpickle_wrapper():
    w = utils.CloudpickleWrapper(lambda x: 2 * x)
    assert pickle.loads(pickle.dumps(w))(3) == 6


def test_color_str_and_timing(capsys):
    s = utils.color_str("hi", "red", bold=True)
    assert s.startswith("\x1b[31;1m") and s.endswith("\x1b[0m") and "hi" in s
    with pytest.raises(ValueError, match="color"):
        utils.color_str("hi", "purple")
    with utils.timed(msg="block"):
        pass
    assert "block Took" in capsys.readouterr().out

    @utils.timeit
    def f(x):
        return x + 1

    assert f(1) == 2
    assert "f: Took" in capsys.readouterr().out


def test_ask_yes_or_no_refuses_without_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(RuntimeError, match="interactive terminal"):
        utils.ask_yes_or_no("overwrite?")


def test_conditioners():
    c = utils.IntervalConditioner(10, "accumulative")
    assert [c(n) for n in [0, 5, 10, 12, 25]] == [True, False, True, False, True]
    c = utils.IntervalConditioner(10, "incremental")
    assert [c(n) for n in [4, 4, 4, 4, 4, 4]] == [False, False, True, False, True, False]
    c = utils.NConditioner(100, 4, "accumulative")
    assert [n for n in range(1, 101) if c(n)] == [25, 50, 75, 100]
    with pytest.raises(ValueError, match="mode"):
        utils.IntervalConditioner(1, "sometimes")


def _rss_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(utils._malloc_trim() is None, reason="malloc_trim is glibc's; elsewhere the call is a no-op")
def test_release_host_memory_returns_freed_heap_to_the_os():
    import ctypes

    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    # 120 MB of touched 20 kB blocks, each followed by a small block that stays: freeing the big ones
    # leaves holes inside the heap that free() alone never returns
    big, small = [], []
    for _ in range(6000):
        p = libc.malloc(20_000)
        ctypes.memset(p, 1, 20_000)
        big.append(p)
        small.append(libc.malloc(64))
    for p in big:
        libc.free(p)
    held = _rss_mb()
    assert utils.release_host_memory() is True
    assert _rss_mb() < held - 80, (held, _rss_mb())  # most of the 120 MB handed back
    utils.release_host_memory()  # a second call, with nothing held back, runs as well
    for p in small:
        libc.free(p)
