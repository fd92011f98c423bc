"""``run_experiment``: every (config, seed) job in lagom's layout, in worker processes, with failures
isolated and finished jobs skipped on resume. Never prompts."""

from __future__ import annotations

import collections
import ctypes
import inspect
import multiprocessing
import os
import shutil
import signal
import threading
import time
import traceback
from multiprocessing.connection import wait
from pathlib import Path

from lagomjax.experiment.config import Config
from lagomjax.experiment.layout import run_dir, write_configs
from lagomjax.utils import CloudpickleWrapper, atomic_open, pickle_load

DONE, ERROR = ".done", "error.txt"


def _job(args):
    """Run one job; never raises (the traceback goes to ``error.txt`` and the result)."""
    run, config, seed, device, job_dir = args
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / ERROR).unlink(missing_ok=True)
    try:
        result = run(config, seed, device, job_dir)
    except BaseException:  # noqa: BLE001 - a failing job must not take the others down
        tb = traceback.format_exc()
        with atomic_open(job_dir / ERROR, "w") as f:
            f.write(tb)
        return {"ID": config["ID"], "seed": seed, "status": "failed", "error": tb}
    with atomic_open(job_dir / DONE, "w") as f:
        f.write("done\n")
    return {"ID": config["ID"], "seed": seed, "status": "done", "result": result}


def _record_failure(job, reason: str) -> dict:
    """A job whose worker died or timed out: ``error.txt`` says why; what it wrote stays."""
    _, config, seed, _, job_dir = job
    with atomic_open(Path(job_dir) / ERROR, "w") as f:
        f.write(reason + "\n")
    return {"ID": config["ID"], "seed": seed, "status": "failed", "error": reason}


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker exit when the process that started it dies (also by SIGKILL): Linux's
    parent-death signal where available, and a watchdog thread everywhere."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _worker(conn, jobs, parent_pid):
    """Run ``jobs`` (``(index, job)`` pairs) in turn, reporting each start and result on ``conn``."""
    _die_with_parent(parent_pid)
    for i, job in jobs:
        conn.send(("start", i))
        conn.send(("done", i, _job(job)))
    conn.close()


def _run_in_workers(jobs, max_workers: int, chunksize: int, timeout: float | None) -> list[dict]:
    """Each chunk of jobs in a fresh spawned worker, at most ``max_workers`` at a time. A worker that
    dies (``os.abort``, an OOM kill) or a job that runs past ``timeout`` seconds (its worker killed)
    is recorded as failed and the other jobs go on; unstarted jobs of a lost worker are rerun."""
    ctx = multiprocessing.get_context("spawn")
    pending = collections.deque([list(enumerate(jobs))[i : i + chunksize] for i in range(0, len(jobs), chunksize)])
    results, running = {}, {}  # running: connection -> [process, chunk, started index, start time]

    def lost(conn, reason):
        proc, chunk, current, _ = running.pop(conn)
        if proc.is_alive():
            proc.kill()
        proc.join()
        conn.close()
        if current is not None and current not in results:
            results[current] = _record_failure(jobs[current], reason.format(code=proc.exitcode))
        rest = [(i, j) for i, j in chunk if i not in results]  # never started: run them again
        if rest:
            pending.appendleft(rest)

    while pending or running:
        while pending and len(running) < max_workers:
            chunk = pending.popleft()
            parent_end, child_end = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(child_end, chunk, os.getpid()), daemon=True)
            proc.start()
            child_end.close()
            running[parent_end] = [proc, chunk, None, None]
        now = time.monotonic()
        deadlines = [t + timeout - now for _, _, c, t in running.values() if timeout and c is not None]
        wait(list(running), timeout=max(0.0, min(deadlines)) if deadlines else None)
        for conn in list(running):
            entry = running[conn]
            try:
                while conn.poll():
                    msg = conn.recv()
                    if msg[0] == "start":
                        entry[2:] = [msg[1], time.monotonic()]
                    else:
                        results[msg[1]] = msg[2]
                        entry[2:] = [None, None]
            except (EOFError, OSError):  # the worker is gone: finished, or died
                done = all(i in results for i, _ in entry[1])
                if done:
                    running.pop(conn)[0].join()
                    conn.close()
                else:
                    lost(conn, "the worker process died (exit code {code}) while running this job")
                continue
            if timeout and entry[2] is not None and time.monotonic() - entry[3] > timeout:
                lost(conn, f"timed out after {timeout:g} s (worker killed; files it wrote are kept)")
    return [results[i] for i in range(len(jobs))]


def _check_run(run) -> None:
    """``run`` must accept lagom's four arguments; say so before any job starts."""
    if not callable(run):
        raise TypeError(f"run must be callable, got {type(run).__name__}")
    try:
        inspect.signature(run).bind("config", "seed", "device", "logdir")
    except TypeError as e:
        raise TypeError(f"run must take lagom's four arguments (config, seed, device, logdir): {e}") from None
    except ValueError:  # no signature to inspect (a builtin): trust it
        pass


def copy_source_files(run, log_dir) -> list[Path]:
    """lagom's reproducibility copy: the ``.py`` files beside the script that defines ``run`` go to
    ``log_dir/source_files/`` (nothing when ``run`` has no source file, e.g. defined interactively)."""
    try:
        source = inspect.getsourcefile(run)
    except TypeError:
        source = None
    if source is None or not Path(source).is_file():
        return []
    copied = []
    for f in sorted(Path(source).parent.glob("*.py")):
        with atomic_open(Path(log_dir) / "source_files" / f.name, "wb") as out:
            out.write(f.read_bytes())
        copied.append(Path(log_dir) / "source_files" / f.name)
    return copied


def run_experiment(
    run,
    config: Config,
    seeds,
    log_dir,
    max_workers: int | None,
    chunksize: int = 1,
    use_gpu: bool = False,
    gpu_ids=None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    timeout: float | None = None,
) -> list[dict]:
    """Run ``run(config, seed, device, logdir)`` for every config of ``config.make_configs()`` and every seed.

    Layout (lagom's): ``log_dir/configs.pkl``, ``log_dir/<ID>/config.yml``, ``log_dir/<ID>/<seed>/``
    (the ``logdir`` a job gets, created for it), and ``log_dir/source_files/`` with the ``.py``
    files beside the script that defines ``run``; each config also gets
    ``config['log.dir'] = str(log_dir)``. A job that raises is recorded in ``<ID>/<seed>/error.txt``
    (the traceback) and the others go on; a finished job leaves ``<ID>/<seed>/.done``.

    Args:
      max_workers: worker processes (``spawn``-ed, so JAX starts clean in each); ``None`` (as lagom)
        or ``0`` runs the jobs one after another in this process.
      chunksize: jobs handed to a worker at a time.
      use_gpu, gpu_ids: jobs get ``device='gpu:<id>'`` round-robin over ``gpu_ids`` (default
        ``[0]``), else ``'cpu'``; pick it with ``jax.devices('gpu')[id]``.
      resume: an existing ``log_dir`` from the same configs: skip finished jobs, rerun the others.
      overwrite: delete an existing ``log_dir`` first.
      timeout: seconds a job may run (needs ``max_workers >= 1``); ``None``: no limit.

    Returns:
      one dict per job: ``ID``, ``seed``, ``status`` ('done', 'failed' or 'skipped') and ``result``
      (``run``'s return value) or ``error`` (the traceback).
    """
    if resume and overwrite:
        raise ValueError("resume and overwrite are exclusive")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 0):
        raise ValueError(f"max_workers must be None or an int >= 0, got {max_workers!r}")
    if not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"chunksize must be an int >= 1, got {chunksize!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be None or a number of seconds > 0, got {timeout!r}")
    if timeout is not None and not max_workers:
        raise ValueError("timeout needs max_workers >= 1 (a job in this process cannot be stopped)")
    _check_run(run)
    bad = [s for s in seeds if not (isinstance(s, int) or (isinstance(s, str) and s.isidentifier()))]
    if bad:
        raise ValueError(f"seeds must be ints or plain names (they name folders under log_dir), got {bad}")
    if len(set(map(str, seeds))) < len(seeds):
        raise ValueError(f"seeds must be distinct (each names a folder under log_dir), got {seeds}")
    if not callable(getattr(config, "make_configs", None)):
        raise TypeError(
            f"config must be an experiment.Config (its make_configs() gives the configs and their IDs), "
            f"got {type(config).__name__}"
        )
    log_dir = Path(log_dir)
    configs = config.make_configs()
    for c in configs:
        c["log.dir"] = str(log_dir)
    if log_dir.exists() and any(log_dir.iterdir()):
        if overwrite:
            shutil.rmtree(log_dir)
        elif not resume:
            raise FileExistsError(f"{log_dir} is not empty: pass resume=True to continue it or overwrite=True")
        elif (log_dir / "configs.pkl").exists() and pickle_load(log_dir / "configs.pkl") != configs:
            raise ValueError(f"cannot resume {log_dir}: its configs.pkl differs from these configs")
    write_configs(log_dir, configs)
    copy_source_files(run, log_dir)

    gpu_ids = list(gpu_ids) if gpu_ids is not None else [0]
    wrapped = CloudpickleWrapper(run)
    jobs, results = [], []
    for c in configs:
        for seed in seeds:
            job_dir = run_dir(log_dir, c["ID"], seed)
            if resume and (job_dir / DONE).exists():
                results.append({"ID": c["ID"], "seed": seed, "status": "skipped"})
                continue
            device = f"gpu:{gpu_ids[len(jobs) % len(gpu_ids)]}" if use_gpu else "cpu"
            jobs.append((wrapped, c, seed, device, str(job_dir)))
    if not max_workers:
        results.extend(_job(j) for j in jobs)
    else:
        results.extend(_run_in_workers(jobs, max_workers, chunksize, timeout))
    order = {(c["ID"], s): i for i, (c, s) in enumerate((c, s) for c in configs for s in seeds)}
    return sorted(results, key=lambda r: order[(r["ID"], r["seed"])])
