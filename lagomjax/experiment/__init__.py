"""Experiments: lagom's configs (``Grid``, ``Sample``, ``Condition``, ``Config``), ``run_experiment``
(process pool, lagom's layout, failure isolation, resume), compiled sweeps sharded across devices,
and hyper-parameter searches as compiled programs: population based training (:func:`pbt`),
batched Optuna trials, CMA-ES and grids over a search :class:`Space`."""

from lagomjax.experiment.config import Condition, Config, Grid, Sample
from lagomjax.experiment.pbt import PBTResult, PBTState, pbt
from lagomjax.experiment.run import run_experiment
from lagomjax.experiment.search import SearchResult, cmaes_search, grid_search, optuna_search, trial_runner
from lagomjax.experiment.space import Param, Space, load_space
from lagomjax.experiment.sweep import SweepProgress, grid, sweep, sweep_configs, with_hparams

__all__ = [
    "Condition",
    "Config",
    "Grid",
    "PBTResult",
    "PBTState",
    "Param",
    "Sample",
    "SearchResult",
    "Space",
    "SweepProgress",
    "cmaes_search",
    "grid",
    "grid_search",
    "load_space",
    "optuna_search",
    "pbt",
    "run_experiment",
    "sweep",
    "sweep_configs",
    "trial_runner",
    "with_hparams",
]
