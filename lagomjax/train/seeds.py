"""Many seeds in one compiled program, run in chunks of updates: chunk results moved to the host as
they finish (progress, trackers), and checkpoint/resume between chunks."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lagomjax import checkpoint as ckpt
from lagomjax._checks import check_int, check_nonnegative
from lagomjax.experiment.sweep import chunk_size
from lagomjax.replay import ReplayBuffer
from lagomjax.train.loop import TrainParts
from lagomjax.utils import release_host_memory


def _keep_halted(halted, new, old):
    """Per seed, ``old`` where ``halted`` else ``new`` (seed-leading state trees, or lists of their
    host leaves)."""
    pick = lambda a, b: jnp.where(halted.reshape(halted.shape + (1,) * (a.ndim - 1)), b, a)  # noqa: E731
    return jax.tree.map(pick, new, old)


def without_replay(state):
    """``state`` with its replay buffers left out (``None``): what a best checkpoint keeps of each seed,
    as acting and evaluating need the learner and the environment's state, never the buffer (which,
    for image observations, is most of the state: hundreds of MB per seed)."""
    is_buffer = lambda x: isinstance(x, ReplayBuffer)  # noqa: E731
    return jax.tree.map(lambda x: None if is_buffer(x) else x, state, is_leaf=is_buffer)


def restore_best(path, like, meta: dict, allow_changes=()):
    """``(state, extra)`` of a best checkpoint, the state shaped like ``without_replay(like)`` (after
    :func:`~lagomjax.checkpoint.check`). A file written before buffers were left out holds the whole
    state; it is read too, and its buffers dropped."""
    saved = ckpt.check(path, meta, allow_changes)
    if len(saved["state"]) == len(jax.tree.leaves(like)):
        return without_replay(ckpt.from_host(like, saved["state"])), saved["extra"]
    return ckpt.from_host(without_replay(like), saved["state"]), saved["extra"]


def restart_schedules(state):
    """``state`` with optax's schedule counters (:class:`optax.ScaleByScheduleState`: learning-rate
    annealing) at 0, so that a run started from another run's state anneals over its own updates;
    everything else (parameters, optimiser moments and Adam's bias-correction count, normalisers,
    replay buffers, environment-step counters) carries over."""
    is_schedule = lambda x: isinstance(x, optax.ScaleByScheduleState)  # noqa: E731
    zero = lambda x: x._replace(count=jnp.zeros_like(x.count)) if is_schedule(x) else x  # noqa: E731
    return jax.tree.map(zero, state, is_leaf=is_schedule)


def start_from(like, state, what: str = "train state"):
    """``state`` (another run's) as the start of a run whose state looks like ``like``: checked and
    typed as a resumed checkpoint's leaves are (``ValueError`` for a leaf of another shape or
    dtype), its schedules restarted (:func:`restart_schedules`)."""
    try:
        return restart_schedules(ckpt.from_host(like, ckpt.to_host(state)))
    except ValueError as e:
        raise ValueError(f"init_state does not fit this run's {what}: {e}") from None


def run_meta(config, num_seeds: int, seed: int) -> dict:
    """What a checkpoint of :func:`run_seeds` records about its run (compared on resume)."""
    n = config.num_updates
    return {
        "num_seeds": num_seeds,
        "seed": seed,
        "num_updates": n,
        "chunk": chunk_size(n),
        "config": ckpt.config_fingerprint(config),
    }


def run_seeds(
    parts: TrainParts,
    config,
    num_seeds: int,
    seed: int = 0,
    progress: bool = True,
    on_metrics: Callable | None = None,
    checkpoint=None,
    checkpoint_every: int = 1,
    max_chunks: int | None = None,
    on_nonfinite: str = "halt",
    allow_changes=(),
    checkpoint_seconds: float | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_compiled: Callable[[float], None] | None = None,
    eval_every: int | None = None,
    on_eval: Callable | None = None,
    best_checkpoint=None,
    init_state=None,
):
    """Train ``num_seeds`` seeds vmapped in one program, in compiled chunks of updates. Returns
    ``(final_state, metrics [seeds, updates], timing)``; the numbers equal
    ``jax.vmap(train_from_parts(parts, n))``'s.

    A run is at least 50 chunks (:func:`~lagomjax.experiment.sweep.chunk_size`). Each chunk's
    metrics are copied to the host as it finishes, so device memory does not grow with the number of
    updates: they advance the progress bar and, if given, go to ``on_metrics(seed_index,
    update_index, metrics)`` (per seed and update, in order, e.g. into a
    :class:`~lagomjax.logger.Logger`). The compiled chunk has no host callback inside, so JAX's
    persistent compilation cache can keep it (:func:`~lagomjax.utils.enable_compile_cache`).

    Checkpoint and resume: with ``checkpoint`` (a file path) the whole train state and the metrics so
    far are written atomically (:mod:`lagomjax.checkpoint`) every ``checkpoint_every`` chunks; if the
    file exists when called, training continues from it, and the result is bit-identical to an
    uninterrupted run on the same machine. The file records the full config: resuming with any other
    setting is refused naming the fields, unless they are listed in ``allow_changes``.
    ``checkpoint_seconds`` also saves whenever that long has passed since the last save.
    ``max_chunks`` stops after that many chunks in this call, and ``should_stop()`` (e.g. set by a
    signal handler) is asked between chunks: when it says True the state is saved and the call
    returns early (then ``timing['finished']`` is False). ``on_compiled(seconds)`` is called once
    compiling is done (before the progress bar starts).

    ``init_state`` (a train state of ``num_seeds`` seeds, e.g. another run's final one from
    :func:`~lagomjax.train.runs.load_state`) replaces ``parts.init``'s: the run trains on
    from it under its own config. What was learnt carries over (parameters, optimiser moments,
    normalisers, replay buffers, the exploration that follows environment steps); what counts this
    run's updates starts from 0 (learning-rate annealing: :func:`restart_schedules`; waiting for
    ``learning_starts``). A leaf of another shape or dtype than ``parts.init``'s raises
    ``ValueError`` (:func:`start_from`). A checkpoint being resumed takes precedence.

    Periodic evaluation: with ``eval_every`` (updates, taken at the first chunk end at or past each
    multiple) every seed's deterministic policy is evaluated as at the end (``parts.finish``, a
    compiled program of its own; the train state is untouched, so resuming stays bit-identical);
    ``metrics['eval_episode_return']`` holds the result at that update, NaN elsewhere (the same
    evaluation episodes each time: the last equals ``eval_return``; a resume may change or drop
    ``eval_every``, and updates of calls without evaluation hold NaN), and
    ``on_eval(update, env_steps [seeds], returns [seeds])`` gets it as it comes. With
    ``best_checkpoint`` (a path) the state of each seed at its best evaluation so far, less its
    replay buffer (:func:`without_replay`; read back with :func:`restore_best`), is kept on the host
    and saved there (``extra['returns']``, ``extra['updates']`` per seed) whenever one improves.

    Non-finite values: every update reports whether its observations, rewards and new agent state
    were finite (``metrics['finite']``, see :func:`~lagomjax.train.loop.functional_parts`), and this
    is acted on between chunks.
    With ``on_nonfinite='halt'`` (default) a seed that went non-finite is put back to its state at
    the start of that chunk and stops learning there, while the other seeds go on; its metrics from
    the first bad update on are NaN, ``metrics['halted_at']`` gives that update per seed (-1: never)
    and its ``eval_return`` is its last finite policy's. ``'raise'`` raises ``FloatingPointError``
    naming the seeds and updates; ``'ignore'`` only reports.
    """
    if on_nonfinite not in ("halt", "raise", "ignore"):
        raise ValueError(f"on_nonfinite must be 'halt', 'raise' or 'ignore', got {on_nonfinite!r}")
    check_int("num_seeds", num_seeds, low=1)
    check_int("checkpoint_every", checkpoint_every, low=1)
    if max_chunks is not None:
        check_int("max_chunks", max_chunks, low=0)
    if checkpoint_seconds is not None:
        check_nonnegative("checkpoint_seconds", checkpoint_seconds)
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every must be None or >= 1, got {eval_every}")
    built_for = getattr(parts, "config", None)  # make_parts records its config
    if built_for is not None and built_for != config:
        fields = [f.name for f in dataclasses.fields(config)] if dataclasses.is_dataclass(config) else []
        changed = [name for name in fields if getattr(built_for, name, None) != getattr(config, name)]
        raise ValueError(f"parts were built for another config than the one given (fields {changed} differ)")
    from tqdm.auto import tqdm

    n = config.num_updates
    k = chunk_size(n)
    bar = None  # created after compiling, so that its rate and ETA count training only

    latest = np.full(num_seeds, np.nan)  # each seed's latest finished-episode training return

    def host(begin, m):
        """A finished chunk's metrics ``[seeds, k]``: the bar, then ``on_metrics`` per seed and update."""
        ret = np.asarray(m["episode_return"], np.float64)
        for s_ in range(num_seeds):
            seen = np.flatnonzero(np.isfinite(ret[s_]))
            if seen.size:
                latest[s_] = ret[s_, seen[-1]]
        bar.update(k)
        if np.isfinite(latest).any():
            bar.set_postfix_str(
                f"train return mean {np.nanmean(latest):.1f} min {np.nanmin(latest):.1f}", refresh=False
            )
        if on_metrics is not None:
            for j in range(k):
                for s_ in range(num_seeds):
                    on_metrics(s_, begin + j, {key: np.asarray(v[s_, j]) for key, v in m.items()})

    meta = run_meta(config, num_seeds, seed)  # a checkpoint of another run is refused before compiling
    resuming = checkpoint is not None and Path(checkpoint).exists()
    saved = ckpt.check(checkpoint, meta, allow_changes) if resuming else None
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    if init_state is not None:  # checked before compiling
        init_state = start_from(jax.eval_shape(jax.vmap(parts.init), keys), init_state)
    t0 = time.perf_counter()
    init = jax.jit(jax.vmap(parts.init)).lower(keys).compile() if init_state is None else None
    state = init(keys) if init_state is None else init_state

    def train_chunk(state, updates):  # [seeds] states, the chunk's update indices
        return jax.vmap(lambda c: jax.lax.scan(parts.update, c, updates))(state)

    chunk = jax.jit(train_chunk).lower(state, jnp.arange(k)).compile()
    finish = jax.jit(jax.vmap(parts.finish)).lower(state, keys).compile()
    keep = jax.jit(_keep_halted).lower(jnp.zeros(num_seeds, bool), state, state).compile()
    compile_s = time.perf_counter() - t0
    if on_compiled is not None:
        on_compiled(compile_s)
    unit = "generation" if hasattr(config, "generations") else "update"
    bar = tqdm(total=n, desc=f"{config.env_id} x {num_seeds} seeds", unit=unit, disable=not progress)
    chunks, start = [], 0
    halted_at = np.full(num_seeds, -1)
    if saved is not None:
        state, extra = ckpt.from_host(state, saved["state"]), saved["extra"]
        chunks, start, halted_at = extra["chunks"], extra["next_update"], np.asarray(extra["halted_at"])
        bar.update(start)
    best_returns, best_updates, best_leaves = np.full(num_seeds, -np.inf), np.full(num_seeds, -1), None
    if best_checkpoint is not None and start > 0 and Path(best_checkpoint).exists():
        best_state, saved = restore_best(best_checkpoint, state, meta, allow_changes)
        best_leaves = ckpt.to_host(best_state)
        best_returns, best_updates = np.asarray(saved["returns"], np.float64), np.asarray(saved["updates"])
    t0 = last_save = time.perf_counter()
    done_now, returns = 0, None  # returns: the latest periodic evaluation
    for begin in range(start, n, k):
        if (max_chunks is not None and done_now >= max_chunks) or (should_stop is not None and should_stop()):
            if checkpoint is not None and done_now:
                ckpt.save(checkpoint, state, meta, chunks=chunks, next_update=begin, halted_at=halted_at)
            break
        new, m = chunk(state, jnp.arange(begin, begin + k))
        m = jax.device_get(m)
        host(begin, m)
        bad = ~m["finite"].all(axis=1) & (halted_at < 0)
        if bad.any() and on_nonfinite != "ignore":
            first = np.argmin(m["finite"], axis=1) + begin
            if on_nonfinite == "raise":
                where = ", ".join(f"seed {s} at update {first[s]}" for s in np.flatnonzero(bad))
                raise FloatingPointError(
                    f"non-finite values in training ({where}); on_nonfinite='halt' stops those seeds only"
                )
            halted_at = np.where(bad, first, halted_at)
        if (halted_at >= 0).any():  # halted seeds stay at their last finite state
            new = keep(jnp.asarray(halted_at >= 0), new, state)
        returns = None
        if eval_every:
            m["eval_episode_return"] = np.full((num_seeds, k), np.nan, np.float32)
            if (begin + k) // eval_every > begin // eval_every or begin + k == n:
                returns = np.asarray(finish(new, keys))  # the final evaluation's episodes, every time
                m["eval_episode_return"][:, -1] = returns
                if on_eval is not None:
                    on_eval(begin + k - 1, np.asarray(m["env_steps"])[:, -1], returns)
        if best_checkpoint is not None and returns is not None:
            improved = (returns > best_returns) & (halted_at < 0)  # NaN never improves
            if improved.any():
                leaves = ckpt.to_host(without_replay(new))
                best_leaves = leaves if best_leaves is None else _keep_halted(~improved, leaves, best_leaves)
                best_returns = np.where(improved, returns, best_returns)
                best_updates = np.where(improved, begin + k - 1, best_updates)
                ckpt.save(best_checkpoint, best_leaves, meta, returns=best_returns.tolist(), updates=best_updates)
        state = new
        chunks.append(m)
        done_now += 1
        release_host_memory()  # what XLA's threads freed this chunk, so a long run's RSS stays flat
        due = len(chunks) % checkpoint_every == 0 or begin + k == n
        due |= checkpoint_seconds is not None and time.perf_counter() - last_save >= checkpoint_seconds
        if checkpoint is not None and due:
            ckpt.save(checkpoint, state, meta, chunks=chunks, next_update=begin + k, halted_at=halted_at)
            last_save = time.perf_counter()
    finished = len(chunks) * k == n
    if finished and eval_every and returns is not None:  # the last chunk's evaluation is the final one
        eval_return = returns
    else:
        eval_return = jax.block_until_ready(finish(state, keys)) if finished else None
    run_s = time.perf_counter() - t0
    bar.close()
    if not chunks:
        return state, {"halted_at": halted_at}, {"compile_s": compile_s, "run_s": run_s, "env_steps_per_s": 0.0,
                                                 "finished": False}  # fmt: skip
    if any("eval_episode_return" in c for c in chunks):  # a resume may change the evaluation cadence
        for c in chunks:
            c.setdefault("eval_episode_return", np.full((num_seeds, k), np.nan, np.float32))
    metrics = {key: np.concatenate([np.asarray(c[key]) for c in chunks], axis=1) for key in chunks[0]}
    metrics["halted_at"] = halted_at
    after = np.arange(metrics["finite"].shape[1]) >= np.where(halted_at < 0, n, halted_at)[:, None]
    for key, v in metrics.items():
        if key not in ("env_steps", "finite", "halted_at") and np.issubdtype(v.dtype, np.floating):
            metrics[key] = np.where(after.reshape(after.shape + (1,) * (v.ndim - 2)), np.nan, v)
    if finished:
        metrics["eval_return"] = np.asarray(eval_return)
    steps_now = int(metrics["env_steps"][0, -1]) - (int(metrics["env_steps"][0, start - 1]) if start else 0)
    timing = {
        "compile_s": compile_s,
        "run_s": run_s,
        "env_steps_per_s": num_seeds * steps_now / run_s,  # the steps of this call (a resume: the rest)
        "finished": finished,
    }
    return state, metrics, timing
