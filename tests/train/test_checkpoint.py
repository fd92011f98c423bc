"""Checkpoint and resume: a run interrupted (also by SIGKILL in the middle of writing a checkpoint)
and resumed ends bit-identical to an uninterrupted one. The state holds parameters, optimiser
states, env states, RNG keys and a replay buffer (DQN)."""

import os
import signal
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from lagomjax.algos import dqn
from lagomjax.checkpoint import to_host
from lagomjax.train import run_seeds
from lagomjax.utils import pickle_load

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
    import os, signal
    import lagomjax.utils as u
    from lagomjax.algos import dqn
    from lagomjax.train import run_seeds
    calls = [0]
    real_dump = u.cloudpickle.dump
    def dump(obj, fh, protocol=None):
        calls[0] += 1
        if calls[0] == 4:  # the 4th checkpoint: write half of it, then die as if killed
            data = u.cloudpickle.dumps(obj, protocol=protocol)
            fh.write(data[: len(data) // 2]); fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return real_dump(obj, fh, protocol=protocol)
    u.cloudpickle.dump = dump
    config = dqn.Config(**{settings!r})
    run_seeds(dqn.make_parts(config), config, 2, seed=3, progress=False, checkpoint={ckpt!r})
    """
)


def test_resume_is_bit_identical_including_a_kill_during_save(tmp_path):
    reference = _run()
    assert reference[2]["finished"] and CONFIG.num_updates == 16

    ckpt = tmp_path / "a" / "checkpoint.pkl"
    part = _run(checkpoint=ckpt, max_chunks=5)
    assert not part[2]["finished"] and "eval_return" not in part[1]
    assert pickle_load(ckpt)["next_update"] == 5
    _assert_identical(_run(checkpoint=ckpt), reference)

    ckpt = tmp_path / "b" / "checkpoint.pkl"
    script = KILLED_WHILE_SAVING.format(settings=SETTINGS, ckpt=str(ckpt))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert pickle_load(ckpt)["next_update"] == 3  # the 4th save never replaced the 3rd
    leftovers = [p for p in os.listdir(ckpt.parent) if p != "checkpoint.pkl"]
    assert all(p.endswith(".tmp") for p in leftovers)  # at most the dead writer's temp file
    _assert_identical(_run(checkpoint=ckpt), reference)


def test_checkpoint_from_another_run_is_refused(tmp_path):
    ckpt = tmp_path / "checkpoint.pkl"
    _run(checkpoint=ckpt, max_chunks=1)
    with pytest.raises(ValueError, match="checkpoint"):
        run_seeds(dqn.make_parts(CONFIG), CONFIG, 3, seed=3, progress=False, checkpoint=ckpt)


def test_metrics_stream_per_seed_from_inside_jit():
    seen = {}
    _, metrics, _ = run_seeds(
        dqn.make_parts(CONFIG),
        CONFIG,
        2,
        seed=3,
        progress=False,
        on_metrics=lambda s, i, m: seen.setdefault((s, i), m),
    )
    assert sorted(seen) == [(s, i) for s in range(2) for i in range(CONFIG.num_updates)]
    for (s, i), m in seen.items():
        assert m["env_steps"] == metrics["env_steps"][s, i]
        np.testing.assert_array_equal(m["episode_return"], metrics["episode_return"][s, i])
    assert jax.device_count() >= 1
