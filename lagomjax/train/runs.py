"""Run directories of the command line: where a run lives, what it was, and its trained policy.

A run directory holds ``run.yml`` (the algorithm, its full config, the seeds and the command
line's settings: it loads back with ``--config`` to an equal config, the same seeds and settings,
and ``--resume`` keeps them), ``checkpoint.ckpt`` (the whole train state of
every seed and the metrics so far, :mod:`lagomjax.checkpoint`; at the end it holds the final
parameters), ``best.ckpt`` (each seed's state at its best periodic evaluation, less any replay
buffer: :func:`~lagomjax.train.seeds.restore_best`), lagom's log
layout (``configs.pkl``, ``0/config.yml``, ``0/<seed>/train_logs.{pkl,csv}``), the learning curve
and, for ``--tensorboard``, event files under ``tb/``.

:func:`lagomjax.algos.policies.load_policy` rebuilds a trained policy from a run directory.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from lagomjax import checkpoint as ckpt
from lagomjax.utils import yaml_dump, yaml_load

RUN_FILE, CHECKPOINT, BEST = "run.yml", "checkpoint.ckpt", "best.ckpt"


def config_to_dict(config) -> dict:
    """A config dataclass as plain YAML-able data (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_from_dict(config_cls, data: dict):
    """``config_cls(**data)`` with lists turned back into tuples; unknown keys raise, naming them."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown {config_cls.__module__}.Config fields {unknown}; known: {sorted(fields)}")
    return config_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def run_record(algo_name: str, config, num_seeds: int, seed: int, settings: dict | None = None) -> dict:
    """``run.yml``'s content; ``settings``: the command line's own flags that a ``--resume`` keeps
    (evaluation cadence, plot, trackers, checkpoint interval)."""
    record = {"algorithm": algo_name, "num_seeds": num_seeds, "seed": seed, "config": config_to_dict(config)}
    return record | ({"settings": dict(settings)} if settings else {})


def new_run_dir(root, algo_name: str, env_id: str) -> Path:
    """``root/<algorithm>/<env id>/<date-time>`` (``-1``, ``-2``, ... if taken), created."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / algo_name / env_id.replace("/", "_").replace(":", "_") / stamp
    path, i = base, 0
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            i += 1
            path = base.with_name(f"{stamp}-{i}")


def claim_run_dir(path, record: dict) -> Path:
    """Use ``path`` for the run ``record``: a new or empty directory is taken (``run.yml`` written);
    one holding another run, or anything else, is refused with ``ValueError`` saying why."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        if not (path / RUN_FILE).exists():
            raise ValueError(f"{path} is not empty and holds no {RUN_FILE}: give a new or empty directory")
        old = yaml_load(path / RUN_FILE)
        if old != record:
            diff = ckpt.differences(old, record)
            raise ValueError(f"{path} holds another run ({'; '.join(diff)}): give a new directory, or --resume it")
        raise ValueError(f"{path} already holds this run: continue it with --resume {path}")
    path.mkdir(parents=True, exist_ok=True)
    yaml_dump(record, path / RUN_FILE, ext=None)
    return path


def read_record(path) -> dict:
    """The ``run.yml`` record of the run directory ``path`` (algorithm name, config, seeds)."""
    path = Path(path)
    if not (path / RUN_FILE).exists():
        raise ValueError(f"{path} is not a run directory (no {RUN_FILE})")
    return yaml_load(path / RUN_FILE)


def load_state(run_dir, module, like=None, best: bool = False, parts=None):
    """``(state, extra)``: every seed's train state (leaves ``[seeds, ...]``) of the run ``run_dir`` of
    the algorithm ``module``, the final state once the run finished, else the latest saved, checked
    against its ``run.yml``. Nothing compiles.

    A compiled run's comes from its ``checkpoint.ckpt`` (``extra`` holds ``next_update`` and the
    metrics so far); with ``best``, from ``best.ckpt`` (each seed at its best evaluation, less any
    replay buffer). The state is rebuilt like ``like`` (another run's state shapes, e.g. to start
    that run from this one: a leaf of another shape or dtype raises ``ValueError``), by default the
    run's own (from ``parts``, else built from its config). A gymnasium-path run's seeds come from
    their ``gym_seed_<i>.ckpt``, stacked (``extra['next_update']``: the least of theirs)."""
    import jax
    import jax.numpy as jnp

    from lagomjax import envs
    from lagomjax.train.seeds import restore_best, run_meta

    record = read_record(run_dir)
    if record.get("search") is not None:
        raise ValueError(f"{run_dir} is a --search {record['search']['method']} run, which keeps no seeds' train state")
    config = config_from_dict(module.Config, record["config"])
    if not envs.is_registered(config.env_id):
        seeds = [load_gym_seed(run_dir, module, i, best) for i in range(record["num_seeds"])]
        state = jax.tree.map(lambda *xs: jnp.stack(xs), *[s[1] for s in seeds])
        return state, {"next_update": min(s[2] for s in seeds)}
    if like is None:
        keys = jax.random.split(jax.random.key(record["seed"]), record["num_seeds"])
        like = jax.eval_shape(jax.vmap((parts or module.make_parts(config)).init), keys)
    path = Path(run_dir) / (BEST if best else CHECKPOINT)
    if not path.exists():
        raise ValueError(f"{run_dir} holds no {path.name}: the run has not saved one yet")
    restore = restore_best if best else ckpt.restore  # best.ckpt keeps no replay buffers
    return restore(path, like, run_meta(config, record["num_seeds"], record["seed"]))


def load_gym_seed(run_dir, module, seed_index: int, best: bool = False):
    """``(agent, agent state, update, observation space, action space)`` of seed ``seed_index`` of a
    gymnasium-path run of the algorithm ``module``, from its ``gym_seed_<i>.ckpt`` (the next update
    to run) or with ``best`` its ``gym_seed_<i>.best.ckpt`` (the update of its best evaluation;
    less any replay buffer)."""
    import jax

    from lagomjax.train import gym_loop
    from lagomjax.train.seeds import restore_best

    record = read_record(run_dir)
    config = config_from_dict(module.Config, record["config"])
    path = gym_loop.checkpoint_path(run_dir, seed_index, best)
    if not path.exists():
        never = "evaluated (--eval-every 0, or not yet)" if best else "saved"
        raise ValueError(f"{path} does not exist: seed {seed_index} of this gymnasium-path run never {never}")
    key = jax.random.split(jax.random.key(record["seed"]), record["num_seeds"])[seed_index]
    agent, like, k_act, meta, obs_space, act_space = gym_loop.restore_target(config, module.make_agent, key)
    if best:
        state, extra = restore_best(path, like, meta)
        return agent, state, int(extra["update"]), obs_space, act_space
    (state, _), extra = ckpt.restore(path, (like, k_act), meta)
    return agent, state, int(extra["next_update"]), obs_space, act_space
