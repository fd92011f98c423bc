"""Experiments: lagom's configs (``Grid``, ``Sample``, ``Condition``, ``Config``), ``run_experiment``
(process pool, lagom's layout, failure isolation, resume), and compiled sweeps sharded across devices."""

from lagomjax.experiment.config import Condition, Config, Grid, Sample
from lagomjax.experiment.run import run_experiment
from lagomjax.experiment.sweep import SweepProgress, grid, sweep, sweep_configs, with_hparams

__all__ = [
    "Condition",
    "Config",
    "Grid",
    "Sample",
    "SweepProgress",
    "grid",
    "run_experiment",
    "sweep",
    "sweep_configs",
    "with_hparams",
]
