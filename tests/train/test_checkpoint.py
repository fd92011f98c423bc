"""Checkpoint and resume: a run interrupted (also by SIGKILL in the middle of writing a checkpoint)
and resumed ends bit-identical to an uninterrupted one. The state holds parameters, optimiser
states, env states, RNG keys and a replay buffer (DQN)."""

import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from lagomjax import checkpoint
from lagomjax.algos import dqn
from lagomjax.checkpoint import to_host
from lagomjax.train import run_seeds

SETTINGS = {"total_steps": 16 * 128, "num_steps": 32, "gradient_steps": 8, "learning_starts": 256,
            "hidden_sizes": (32, 32), "eval_episodes": 2}  # fmt: skip
CONFIG = dqn.Config(**SETTINGS)


def _run(checkpoint=None, max_chunks=None):
    return run_seeds(
        dqn.make_parts(CONFIG), CONFIG, 2, seed=3, progress=False, checkpoint=checkpoint, max_chunks=max_chunks
    )


def _assert_identical(a, b):
    (state_a, metrics_a, _), (state_b, metrics_b, _) = a, b
    assert metrics_a.keys() == metrics_b.keys()
    for key in metrics_a:
        np.testing.assert_array_equal(metrics_a[key], metrics_b[key], err_msg=key)
    for x, y in zip(*(to_host(s) for s in (state_a, state_b)), strict=True):
        np.testing.assert_array_equal(x, y)


KILLED_WHILE_SAVING = textwrap.dedent(
    """
    import contextlib, os, signal
    import lagomjax.checkpoint as c
    from lagomjax.algos import dqn
    from lagomjax.train import run_seeds
    calls = [0]
    real_open = c.atomic_open
    class HalfThenDie:
        def __init__(self, fh): self.fh = fh
        def write(self, data):  # write half of the file, then die as if killed
            self.fh.write(data[: len(data) // 2]); self.fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    @contextlib.contextmanager
    def atomic_open(path, mode="wb"):
        calls[0] += 1
        with real_open(path, mode) as fh:
            yield HalfThenDie(fh) if calls[0] == 4 else fh
    c.atomic_open = atomic_open
    config = dqn.Config(**{settings!r})
    run_seeds(dqn.make_parts(config), config, 2, seed=3, progress=False, checkpoint={ckpt!r})
    """
)


@pytest.mark.slow
def test_resume_is_bit_identical_including_a_kill_during_save(tmp_path):
    reference = _run()
    assert reference[2]["finished"] and CONFIG.num_updates == 16

    ckpt = tmp_path / "a" / "checkpoint.ckpt"
    part = _run(checkpoint=ckpt, max_chunks=5)
    assert not part[2]["finished"] and "eval_return" not in part[1]
    assert checkpoint.load(ckpt)["extra"]["next_update"] == 5
    resumed = _run(checkpoint=ckpt)
    _assert_identical(resumed, reference)
    # the speed counts the steps of this call (the 11 updates left), not the run's 16
    steps = 2 * 11 * CONFIG.num_envs * CONFIG.num_steps
    assert resumed[2]["env_steps_per_s"] * resumed[2]["run_s"] == pytest.approx(steps)
    again = _run(checkpoint=ckpt)  # a finished run: nothing steps, its results come back
    _assert_identical(again, reference)
    assert again[2]["finished"] and again[2]["env_steps_per_s"] == 0.0

    ckpt = tmp_path / "b" / "checkpoint.ckpt"
    script = KILLED_WHILE_SAVING.format(settings=SETTINGS, ckpt=str(ckpt))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert checkpoint.load(ckpt)["extra"]["next_update"] == 3  # the 4th save never replaced the 3rd
    leftovers = [p for p in os.listdir(ckpt.parent) if p != "checkpoint.ckpt"]
    assert all(p.endswith(".tmp") for p in leftovers)  # at most the dead writer's temp file
    _assert_identical(_run(checkpoint=ckpt), reference)


def test_parts_of_another_config_and_bad_counts_are_refused_before_compiling():
    compiled, parts = [], dqn.make_parts(CONFIG)
    longer = dqn.Config(**{**SETTINGS, "total_steps": 32 * 128})  # the parts would run 32 updates of CONFIG's
    with pytest.raises(ValueError, match=r"parts were built for another config .*\['total_steps'\] differ"):
        run_seeds(parts, longer, 2, progress=False, on_compiled=compiled.append)
    for kwargs, message in [
        ({"checkpoint_every": 0}, "checkpoint_every must be an int >= 1, got 0"),  # a ZeroDivisionError before
        ({"max_chunks": -1}, "max_chunks must be an int >= 0, got -1"),
        ({"checkpoint_seconds": -1.0}, "checkpoint_seconds must be >= 0, got -1.0"),
    ]:
        with pytest.raises(ValueError, match=message):
            run_seeds(parts, CONFIG, 2, progress=False, on_compiled=compiled.append, **kwargs)
    assert compiled == []


def test_checkpoint_from_another_run_is_refused_before_compiling(tmp_path):
    ckpt = tmp_path / "checkpoint.ckpt"
    _run(checkpoint=ckpt, max_chunks=1)
    compiled = []
    with pytest.raises(ValueError, match=r"(?s)checkpoint .* num_seeds: 2 -> 3"):
        run_seeds(dqn.make_parts(CONFIG), CONFIG, 3, seed=3, progress=False, checkpoint=ckpt,
                  on_compiled=compiled.append)  # fmt: skip
    assert compiled == []


def test_metrics_reach_on_metrics_per_seed_and_update_in_order():
    seen, order = {}, []
    _, metrics, _ = run_seeds(
        dqn.make_parts(CONFIG),
        CONFIG,
        2,
        seed=3,
        progress=False,
        on_metrics=lambda s, i, m: (seen.setdefault((s, i), m), order.append((s, i))),
    )
    assert order == [(s, i) for i in range(CONFIG.num_updates) for s in range(2)]
    for (s, i), m in seen.items():
        assert m["env_steps"] == metrics["env_steps"][s, i]
        np.testing.assert_array_equal(m["episode_return"], metrics["episode_return"][s, i])
    assert jax.device_count() >= 1


def test_resume_with_other_settings_names_them_unless_allowed(tmp_path):
    ckpt = tmp_path / "checkpoint.ckpt"
    _run(checkpoint=ckpt, max_chunks=2)
    other = dataclasses.replace(CONFIG, lr=CONFIG.lr * 2, gamma=0.9)
    compiled = []
    with pytest.raises(ValueError, match=r"(?s)config\.gamma: 0\.99 -> 0\.9.*config\.lr"):
        run_seeds(dqn.make_parts(other), other, 2, seed=3, progress=False, checkpoint=ckpt, max_chunks=1,
                  on_compiled=compiled.append)  # fmt: skip
    assert compiled == []
    lr_only = dataclasses.replace(CONFIG, lr=CONFIG.lr * 2)
    _, m, _ = run_seeds(
        dqn.make_parts(lr_only), lr_only, 2, seed=3, progress=False, checkpoint=ckpt, max_chunks=1,
        allow_changes=("lr",),
    )  # fmt: skip
    assert m["env_steps"].shape == (2, 3)


STATE = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "key": jax.random.key(1), "n": np.int32(4)}


def test_checkpoint_file_round_trips_arrays_keys_and_metadata(tmp_path):
    path = checkpoint.save(tmp_path / "c.ckpt", STATE, {"a": (1, 2), "b": {"c": 0.5}}, chunks=[{"x": np.ones(2)}], n=3)
    state, extra = checkpoint.restore(path, STATE, {"a": [1, 2], "b": {"c": 0.5}})
    np.testing.assert_array_equal(state["w"], STATE["w"])
    assert state["n"].dtype == np.int32 and jax.random.key_data(state["key"]).tolist() == [0, 1]
    assert extra["n"] == 3 and extra["chunks"][0]["x"].tolist() == [1.0, 1.0]
    assert oct(os.stat(path).st_mode & 0o777) in ("0o644", "0o664")  # readable by colleagues, umask permitting


def test_restore_into_shapes_only_and_key_implementations_checked(tmp_path):
    """A shape-only target (``jax.eval_shape``: nothing compiles) restores the same state, typed keys
    included; keys of another implementation are refused, not misread."""
    path = checkpoint.save(tmp_path / "c.ckpt", STATE, {})
    shapes = jax.eval_shape(lambda: STATE)
    state, _ = checkpoint.restore(path, shapes, {})
    for a, b in zip(to_host(state), to_host(STATE), strict=True):
        np.testing.assert_array_equal(a, b)
    assert state["key"].dtype == STATE["key"].dtype
    rbg = {**STATE, "key": jax.random.key(0, impl="rbg")}
    with pytest.raises(ValueError, match=r"leaf 0 of shape \(2,\) does not match the train state.s \(4,\)"):
        checkpoint.restore(path, jax.eval_shape(lambda: rbg), {})
    with pytest.raises(ValueError, match=r"leaf 0 of shape \(2,\) does not match the train state.s \(4,\)"):
        checkpoint.restore(path, rbg, {})
    # rbg keys saved, a shape-only rbg target: the data fits, but shapes alone cannot name the implementation
    path_rbg = checkpoint.save(tmp_path / "rbg.ckpt", rbg, {})
    with pytest.raises(ValueError, match=r"leaf 0: a shape-only target of key<rbg> keys"):
        checkpoint.restore(path_rbg, jax.eval_shape(lambda: rbg), {})
    assert checkpoint.restore(path_rbg, rbg, {})[0]["key"].dtype == rbg["key"].dtype


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b"", "not a lagomjax checkpoint"),
        (lambda b: b[:30], "truncated"),
        (lambda b: b[: len(b) // 2], "corrupt"),
        (lambda b: b[:-3] + bytes([b[-3] ^ 1]) + b[-2:], "corrupt"),
        (lambda b: b[:20] + (7).to_bytes(4, "little") + b[24:], "version 7"),
        (lambda b: pickle.dumps({"meta": {}}), "not a lagomjax checkpoint"),
    ],
)
def test_damaged_or_foreign_files_are_refused_naming_the_file(tmp_path, damage, message):
    path = checkpoint.save(tmp_path / "c.ckpt", STATE, {})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=message) as err:
        checkpoint.restore(path, STATE, {})
    assert str(path) in str(err.value)


def test_loading_never_unpickles(tmp_path, monkeypatch):
    path = checkpoint.save(tmp_path / "c.ckpt", STATE, {"x": 1})

    def refuse(*a, **k):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    assert checkpoint.load(path)["meta"] == {"x": 1}
    with pytest.raises(TypeError, match="plain data"):
        checkpoint.save(tmp_path / "d.ckpt", STATE, {"f": object()})


def test_run_seeds_hands_freed_host_memory_back_after_every_chunk(monkeypatch):
    import lagomjax.train.seeds as seeds

    calls = []
    monkeypatch.setattr(seeds, "release_host_memory", lambda: calls.append(1) or True)
    _run(max_chunks=3)
    assert len(calls) == 3  # one per chunk run, so a long run's RSS stays flat (benchmarks/memory_bench.py)
