"""Hyper-parameter sweeps as one compiled program: seeds x numeric hyper-parameters are one ``vmap``
batch, sharded across the local devices with ``jax.sharding`` (``pmap`` is in maintenance mode).

Only numeric hyper-parameters (learning rate, discount, clip range, entropy coefficient, ...) can be
batched: they become traced scalars inside ``train``. Anything that changes shapes or program
structure (env id, network sizes, number of steps) needs its own compilation: run such configs one
after another (:func:`sweep_configs`), or give each its own device or process.

Several hosts: start every process with ``jax.distributed.initialize(...)`` first; then
``jax.devices()`` spans all hosts while ``jax.local_devices()`` is this host's. :func:`sweep` shards
over ``devices`` (this host's by default), so each host runs its own share of a sweep (e.g. split
the configs by ``jax.process_index()``); a single global mesh over ``jax.devices()`` also works as
long as every process calls :func:`sweep` with the same arguments.
"""

from __future__ import annotations

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from lagomjax._checks import check_int, concrete


def grid(**values) -> dict:
    """The Cartesian product of numeric values (first keyword outermost) as arrays of one length ``C``.

    >>> grid(lr=[1e-3, 3e-4], gamma=[0.99, 0.9])['lr']
    array([0.001 , 0.001 , 0.0003, 0.0003], dtype=float32)
    """
    if not values:
        raise ValueError("grid needs at least one hyper-parameter")
    combos = list(itertools.product(*values.values()))
    return {k: np.asarray([c[i] for c in combos], np.float32) for i, k in enumerate(values)}


def with_hparams(make_train, config):
    """``train(key, hparams)``: ``make_train(dataclasses.replace(config, **hparams))(key)``, so the
    numeric fields named in ``hparams`` are traced (and can be vmapped) while the rest stay static.
    ``train.check(hparams)`` puts concrete values through ``config``'s own checks (:func:`sweep`
    calls it): inside the program a traced value cannot be checked."""

    def train(key, hparams):
        _check_names(config, hparams)
        return make_train(dataclasses.replace(config, **hparams))(key)

    train.check = lambda hparams: check_hparams(config, hparams)
    return train


def _check_names(config, hparams) -> None:
    fields = {f.name: f.default for f in dataclasses.fields(config)}
    unknown = sorted(set(hparams) - set(fields))
    if unknown:
        raise ValueError(f"hparams {unknown} are not fields of {type(config).__name__}")
    static = sorted(k for k in hparams if not isinstance(fields[k], float))
    if static:
        raise ValueError(
            f"hparams {static} set shapes or program structure (ints, booleans, names), so they cannot "
            "vary inside one compiled program; sweep them with sweep_configs (one program per config)"
        )


def check_hparams(config, hparams: dict) -> None:
    """Every setting of ``hparams`` (arrays ``[C]``) through ``config``'s ``__post_init__``: a negative
    learning rate or a discount above 1 is refused, naming the setting, before anything compiles.
    Traced values are left alone."""
    _check_names(config, hparams)
    values = {k: concrete(v) for k, v in hparams.items()}
    if any(v is None for v in values.values()):
        return
    for i in range(min(np.size(v) for v in values.values())):
        setting = {k: float(np.ravel(v)[i]) for k, v in values.items()}
        try:
            dataclasses.replace(config, **setting)
        except (TypeError, ValueError) as e:
            raise ValueError(f"hparams setting {i} {setting} is refused by {type(config).__name__}: {e}") from None


def chunk_size(num_updates: int, target_chunks: int = 50) -> int:
    """The largest divisor of ``num_updates`` giving at least ``target_chunks`` chunks (1 at worst)."""
    limit = max(1, num_updates // target_chunks)
    return max(d for d in range(1, limit + 1) if num_updates % d == 0)


def traced_parts(make_parts, config):
    """``(init, update, finish)`` of ``make_parts(config)`` with the hyper-parameters as an argument:
    ``init(key, hparams)``, ``update(state, hparams, i)``, ``finish(state, hparams, key)``, where
    ``hparams`` is a dict of scalar (traced) values of ``config``'s float fields. Each call builds
    ``make_parts(dataclasses.replace(config, **hparams))`` while tracing, so a population whose
    members differ only in those values is one ``vmap``, and a member's values can change between
    calls on the same state (population based training)."""

    def parts(hparams):
        return make_parts(dataclasses.replace(config, **hparams))

    def init(key, hparams):
        return parts(hparams).init(key)

    def update(state, hparams, i):
        return parts(hparams).update(state, i)

    def finish(state, hparams, key):
        return parts(hparams).finish(state, key)

    return init, update, finish


def batch_sharding(devices=None, axis: str = "batch") -> NamedSharding:
    """Leading axis split over ``devices`` (default: every device of the job, ``jax.devices()``, which
    spans all processes of a ``jax.distributed`` job)."""
    return NamedSharding(Mesh(np.asarray(list(devices or jax.devices())), (axis,)), PartitionSpec(axis))


def put_global(tree, sharding):
    """Host (or local) arrays that every process holds in full, placed with ``sharding`` (which may
    span several processes, where ``jax.device_put`` refuses); typed PRNG keys included.
    A :class:`~jax.sharding.NamedSharding` splits leaves along their leading axis; scalars are
    replicated."""
    replicated = NamedSharding(sharding.mesh, PartitionSpec())

    def put(x):
        is_key = isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)
        data = np.asarray(jax.random.key_data(x) if is_key else x)
        where = sharding if np.ndim(x) and sharding.spec else replicated  # a key's ndim is its logical one
        out = jax.make_array_from_callback(data.shape, where, lambda index: data[index])
        return jax.random.wrap_key_data(out, impl=jax.random.key_impl(x)) if is_key else out

    return jax.tree.map(put, tree)


def to_host(tree):
    """Arrays as NumPy, gathered from every process when they span several (``jax.distributed``; every
    process must call it); typed PRNG keys stay keys."""
    from jax.experimental import multihost_utils

    def get(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):  # stays a key, on this host
            return jax.random.wrap_key_data(get(jax.random.key_data(x)), impl=jax.random.key_impl(x))
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    return jax.tree.map(get, tree)


def sweep(train, hparams: dict, num_seeds: int, seed: int = 0, devices=None):
    """Run ``train(key, hparams)`` for every hyper-parameter setting x seed in one compiled program.

    Args:
      train: ``(key, hparams: dict of scalars) -> pytree``.
      hparams: dict of arrays ``[C]`` (e.g. from :func:`grid`).
      num_seeds: ``S``; every setting gets the same ``S`` keys (common random numbers).
      devices: devices to shard the ``C * S`` batch over (default ``jax.local_devices()``); the batch
        is padded to a multiple of their number.

    Returns:
      ``train``'s output with leading axes ``[C, S]``.
    """
    sizes = {k: np.shape(v) for k, v in hparams.items()}
    if not hparams or any(len(s) != 1 for s in sizes.values()) or len({s[0] for s in sizes.values()}) != 1:
        raise ValueError(f"hparams must be 1-D arrays of one length, got shapes {sizes}")
    c = next(iter(sizes.values()))[0]
    if c == 0:
        raise ValueError(f"hparams hold no setting (arrays of length 0), got shapes {sizes}")
    check_int("num_seeds", num_seeds, low=1)
    if callable(getattr(train, "check", None)):  # with_hparams: the config's own checks
        train.check(hparams)
    devices = list(devices or jax.local_devices())
    batch = c * num_seeds
    padded = -(-batch // len(devices)) * len(devices)
    take = np.arange(padded) % batch  # padding repeats the first jobs; their results are dropped
    keys = jax.random.split(jax.random.key(seed), num_seeds)[take % num_seeds]
    hp = {k: jnp.asarray(np.asarray(v)[take // num_seeds]) for k, v in hparams.items()}
    sharding = NamedSharding(Mesh(np.asarray(devices), ("batch",)), PartitionSpec("batch"))
    keys, hp = jax.device_put((keys, hp), sharding)
    out = jax.jit(jax.vmap(train))(keys, hp)
    return jax.tree.map(lambda x: x[:batch].reshape(c, num_seeds, *x.shape[1:]), out)


class SweepProgress:
    """A progress bar for many runs inside one compiled program: pass it as the ``on_update`` hook of
    :func:`~lagomjax.train.loop.train_from_parts` (called once per run and update from inside the
    program). The bar counts the updates all runs have finished and shows the mean and min of the
    latest ``num_runs`` finite training returns reported (about one per run: the hook does not know
    which run calls); it appears with the first update, so compiling is not in its rate. ``close()``
    it after the sweep."""

    def __init__(self, num_updates: int, num_runs: int, desc: str = "sweep", disable: bool = False):
        self.num_updates, self.num_runs, self.desc, self.disable = num_updates, num_runs, desc, disable
        self.calls, self.done, self.bar = 0, 0, None  # done: updates every run has finished
        self.latest: list[float] = []

    def __call__(self, update_index, metrics):
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=self.num_updates, desc=self.desc, unit="update", disable=self.disable)
        self.calls += 1
        ret = float(np.asarray(metrics.get("episode_return", np.nan)))
        if np.isfinite(ret):
            self.latest = (self.latest + [ret])[-self.num_runs :]
        done = self.calls // self.num_runs
        if done > self.done:
            self.bar.update(done - self.done)
            self.done = done
            if self.latest:
                self.bar.set_postfix_str(f"train return mean {np.mean(self.latest):.1f} min {np.min(self.latest):.1f}",
                                         refresh=False)  # fmt: skip

    def close(self):
        if self.bar is not None:
            self.bar.close()


def sweep_configs(make_train, configs, num_seeds: int, seed: int = 0):
    """Configs that differ in shapes or structure: each compiles separately and runs its seeds vmapped,
    one config after another. Returns a list of outputs with a leading seed axis."""
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    return [jax.jit(jax.vmap(make_train(config)))(keys) for config in configs]
