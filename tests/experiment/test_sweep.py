"""Compiled sweeps: seeds x numeric hyper-parameters in one program; 4 devices equal 1 device; pmap."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import experiment
from lagomjax.experiment import grid, sweep


def quadratic_train(key, hparams):
    """A small 'training': SGD on a random quadratic with traced lr and decay; returns the loss curve."""
    target = jax.random.normal(key, (8,))

    def step(x, _):
        x = hparams["decay"] * x - hparams["lr"] * (x - target)
        return x, jnp.sum((x - target) ** 2)

    return jax.lax.scan(step, jnp.zeros(8), None, 50)[1]


def test_grid_order_and_sweep_equals_separate_runs():
    hp = grid(lr=[0.1, 0.01], decay=[1.0, 0.99, 0.9])
    np.testing.assert_allclose(hp["lr"], [0.1] * 3 + [0.01] * 3)
    np.testing.assert_allclose(hp["decay"], [1.0, 0.99, 0.9] * 2)
    out = sweep(quadratic_train, hp, num_seeds=3, seed=5)
    assert out.shape == (6, 3, 50)
    keys = jax.random.split(jax.random.key(5), 3)
    for c in range(6):
        for s in range(3):
            alone = quadratic_train(keys[s], {k: jnp.float32(v[c]) for k, v in hp.items()})
            np.testing.assert_allclose(out[c, s], alone, rtol=1e-5)
    with pytest.raises(ValueError, match="one length"):
        sweep(quadratic_train, {"lr": np.ones(2), "decay": np.ones(3)}, 2)
    with pytest.raises(ValueError, match="num_seeds must be an int >= 1, got 0"):
        sweep(quadratic_train, hp, 0)
    with pytest.raises(ValueError, match=r"hparams hold no setting \(arrays of length 0\)"):
        sweep(quadratic_train, {"lr": np.ones(0)}, 2)


def test_a_sweep_refuses_settings_its_config_refuses_before_compiling():
    """Traced values cannot be checked inside the program: the sweep puts every setting through the
    config's own checks first (a negative learning rate trained by gradient ascent before)."""
    from lagomjax.algos import ppo
    from lagomjax.experiment import with_hparams

    compiled = []
    train = with_hparams(lambda config: compiled.append(config) or ppo.make_train(config), ppo.Config())
    with pytest.raises(ValueError, match=r"hparams setting 1 \{'lr': -0\.001.*\} is refused by Config: lr must be > 0"):
        sweep(train, grid(lr=[1e-3, -1e-3], gamma=[0.99]), 2)
    with pytest.raises(ValueError, match="gamma must be in"):
        sweep(train, grid(lr=[1e-3], gamma=[1.5]), 2)
    with pytest.raises(ValueError, match="not fields of Config"):
        sweep(train, grid(lrr=[1e-3]), 2)
    assert compiled == []  # nothing was traced


FOUR_DEVICES = textwrap.dedent(
    """
    import dataclasses, jax, numpy as np
    from lagomjax.algos import ppo
    from lagomjax.experiment import grid, sweep, with_hparams
    assert jax.device_count() == 4, jax.devices()
    config = ppo.Config(total_steps=3 * 512, eval_episodes=2)
    train = with_hparams(ppo.make_train, config)
    hp = grid(lr=[1e-3, 3e-4, 1e-4])
    four = sweep(train, hp, num_seeds=2, seed=0)  # 6 runs over 4 devices (padded to 8)
    one = sweep(train, hp, num_seeds=2, seed=0, devices=jax.devices()[:1])
    for k in ("episode_return", "pg_loss", "v_loss", "eval_return"):
        np.testing.assert_allclose(np.asarray(four[1][k]), np.asarray(one[1][k]), rtol=1e-5, atol=1e-6)
    assert four[1]["pg_loss"].shape == (3, 2, config.num_updates)
    assert len(four[1]["pg_loss"].sharding.device_set) == 4  # the batch really was spread
    # users' pmap sweeps work too: one seed per device (the sweep's two keys, on two of the four
    # devices) equals the vmapped program's runs at that learning rate
    fixed = ppo.make_train(dataclasses.replace(config, lr=float(hp["lr"][1])))
    p = jax.pmap(fixed)(jax.random.split(jax.random.key(0), 2))[1]
    for k in ("pg_loss", "v_loss"):
        np.testing.assert_allclose(np.asarray(p[k]), np.asarray(one[1][k][1]), rtol=1e-5, atol=1e-6)
    print("OK")
    """
)


@pytest.mark.slow
def test_four_devices_equal_one_device_and_pmap():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", FOUR_DEVICES], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr


DISTRIBUTED = textwrap.dedent(
    """
    import socket, jax
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=1, process_id=0)
    assert (jax.process_count(), jax.process_index(), jax.device_count()) == (1, 0, 2)
    from lagomjax.experiment import grid, sweep
    train = lambda k, hp: jax.random.normal(k) * hp["lr"]
    out = sweep(train, grid(lr=[1.0, 2.0]), num_seeds=3, devices=jax.devices())
    assert out.shape == (2, 3) and abs(float(out[1, 0]) - 2 * float(out[0, 0])) < 1e-6
    jax.distributed.shutdown()
    print("OK")
    """
)


def test_sweep_under_jax_distributed_single_process():
    """What can be tested of several hosts on one machine: a process initialised with
    ``jax.distributed`` (a coordinator on localhost) sweeps over the global device list."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", DISTRIBUTED], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr


def test_sweep_progress_counts_updates_every_run_finished():
    bar = experiment.SweepProgress(num_updates=3, num_runs=2, disable=True)
    for i, ret in [(0, 1.0), (0, 3.0), (1, float("nan")), (1, 5.0), (2, 7.0)]:
        bar(np.int32(i), {"episode_return": np.float32(ret)})
    assert bar.done == 2  # 5 calls from 2 runs: both finished 2 updates
    assert bar.latest == [5.0, 7.0]
    bar.close()


@pytest.mark.slow
def test_a_progress_hook_leaves_the_numbers_alone():
    from lagomjax.algos import ppo
    from lagomjax.train.loop import train_from_parts

    config = ppo.Config(total_steps=2048, hidden_sizes=(16,))
    bar = experiment.SweepProgress(config.num_updates, 2, disable=True)
    plain = jax.jit(jax.vmap(ppo.make_train(config)))(jax.random.split(jax.random.key(0), 2))
    hooked = jax.jit(jax.vmap(train_from_parts(ppo.make_parts(config), config.num_updates, on_update=bar)))(
        jax.random.split(jax.random.key(0), 2)
    )
    jax.effects_barrier()
    bar.close()
    assert bar.calls == 2 * config.num_updates and bar.done == config.num_updates
    raw = lambda x: jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x  # noqa: E731
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(hooked), strict=True):
        np.testing.assert_array_equal(np.asarray(raw(a)), np.asarray(raw(b)))
