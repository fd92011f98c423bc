"""``run_experiment``: every (config, seed) job in lagom's layout, in worker processes, with failures
isolated and finished jobs skipped on resume. Never prompts."""

from __future__ import annotations

import inspect
import multiprocessing
import shutil
import traceback
from concurrent.futures import ProcessPoolExecutor
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

    Returns:
      one dict per job: ``ID``, ``seed``, ``status`` ('done', 'failed' or 'skipped') and ``result``
      (``run``'s return value) or ``error`` (the traceback).
    """
    if resume and overwrite:
        raise ValueError("resume and overwrite are exclusive")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    if max_workers is not None and max_workers < 0:
        raise ValueError(f"max_workers must be None or >= 0, got {max_workers}")
    _check_run(run)
    bad = [s for s in seeds if not (isinstance(s, int) or (isinstance(s, str) and s.isidentifier()))]
    if bad:
        raise ValueError(f"seeds must be ints or plain names (they name folders under log_dir), got {bad}")
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
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max_workers, mp_context=ctx) as pool:
            results.extend(pool.map(_job, jobs, chunksize=chunksize))
    order = {(c["ID"], s): i for i, (c, s) in enumerate((c, s) for c in configs for s in seeds)}
    return sorted(results, key=lambda r: order[(r["ID"], r["seed"])])
