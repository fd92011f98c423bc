"""lagom's experiment configurations: fixed values, ``Grid`` (Cartesian product), ``Sample`` (random
search) and ``Condition`` (a value computed from the others)."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable

import numpy as np


class Grid(list):
    """Values to sweep; several grids give their Cartesian product (the first key outermost)."""

    def __init__(self, values):
        values = list(values)
        if not values:
            raise ValueError("Grid needs at least one value")
        super().__init__(values)


class Sample:
    """A value drawn anew for every sample: ``f(rng)`` with a seeded ``numpy.random.Generator``
    (or ``f()`` for a function of no arguments, called under a seeded legacy ``np.random`` state).
    ``Sample(f)()`` draws once, as in lagom (unseeded: a fresh generator, or the global state)."""

    def __init__(self, f: Callable):
        if not callable(f):
            raise TypeError(f"Sample needs a callable, got {type(f).__name__}")
        self.f = f
        self._takes_rng = len(inspect.signature(f).parameters) > 0

    def __call__(self, rng: np.random.Generator | None = None):
        if rng is None:
            return self.f(np.random.default_rng()) if self._takes_rng else self.f()
        if self._takes_rng:
            return self.f(rng)
        state = np.random.get_state()  # noqa: NPY002 - lagom-style samplers use the legacy global state
        np.random.seed(int(rng.integers(2**32)))  # noqa: NPY002
        try:
            return self.f()
        finally:
            np.random.set_state(state)  # noqa: NPY002


class Condition:
    """A value computed from the rest of the config: ``f(config) -> value``."""

    def __init__(self, f: Callable):
        if not callable(f):
            raise TypeError(f"Condition needs a callable, got {type(f).__name__}")
        self.f = f

    def __call__(self, config: dict):
        return self.f(config)


class Config:
    """``Config(items, num_sample=1, keep_dict_order=False).make_configs()`` -> a list of dicts with ``ID``.

    For each of ``num_sample`` samples (outermost), every combination of the grids (first grid key
    outermost); ``Sample`` values are drawn per config from a generator seeded by ``seed``;
    ``Condition`` values are computed last. Without any ``Sample`` item every grid point comes once,
    whatever ``num_sample`` says (as lagom). Keys come in lagom's order after ``ID``: fixed and
    ``Condition`` items in the order of ``items``, then the grids, then the samples; with
    ``keep_dict_order`` the order of ``items``.

    Example (API.md):
      >>> configs = Config({'log.dir': 'some path', 'network.lr': Grid([1e-3, 5e-3]),
      ...                   'env.id': Grid(['CartPole-v1', 'Ant-v2'])}).make_configs()
      >>> [(c['ID'], c['env.id'], c['network.lr']) for c in configs]
      [(0, 'CartPole-v1', 0.001), (1, 'Ant-v2', 0.001), (2, 'CartPole-v1', 0.005), (3, 'Ant-v2', 0.005)]
    """

    def __init__(self, items: dict, num_sample: int = 1, keep_dict_order: bool = False, seed: int = 0):
        if not isinstance(items, dict):
            raise TypeError(f"items must be a dict, got {type(items).__name__}")
        if "ID" in items:
            raise ValueError("'ID' is reserved: make_configs numbers the configs itself (rename your key)")
        if num_sample < 1:
            raise ValueError(f"num_sample must be >= 1, got {num_sample}")
        if not any(isinstance(v, Sample) for v in items.values()):
            num_sample = 1  # nothing to sample: each grid point once
        self.items, self.num_sample, self.keep_dict_order, self.seed = items, num_sample, keep_dict_order, seed

    def make_configs(self) -> list[dict]:
        kinds = {"grid": [], "sample": [], "fixed": [], "condition": []}
        order = [k for k, v in self.items.items() if not isinstance(v, Grid | Sample)]  # fixed and conditions
        for key, value in self.items.items():
            kind = (
                "grid"
                if isinstance(value, Grid)
                else "sample"
                if isinstance(value, Sample)
                else "condition"
                if isinstance(value, Condition)
                else "fixed"
            )
            kinds[kind].append(key)
        rng = np.random.default_rng(self.seed)
        configs = []
        for _ in range(self.num_sample):
            for combo in itertools.product(*(self.items[k] for k in kinds["grid"])):
                config = dict(zip(kinds["grid"], combo, strict=True))
                config.update({k: self.items[k](rng) for k in kinds["sample"]})
                config.update({k: self.items[k] for k in kinds["fixed"]})
                for k in kinds["condition"]:
                    config[k] = self.items[k](config)
                keys = list(self.items) if self.keep_dict_order else order + kinds["grid"] + kinds["sample"]
                config = {k: config[k] for k in keys}
                configs.append({"ID": len(configs), **config})
        return configs
