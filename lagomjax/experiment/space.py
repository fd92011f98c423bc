"""Search spaces of numeric hyper-parameters, shared by every search (grid, PBT, Optuna, CMA-ES).

A space maps config fields to ranges, from a dict or a YAML file (``--space FILE``)::

    lr: {low: 1.0e-4, high: 3.0e-3, log: true}   # log-uniform
    clip_eps: {low: 0.1, high: 0.3}               # uniform
    gamma: {values: [0.95, 0.99, 0.995]}          # a choice among values

Only float fields can be searched inside one compiled program: they become traced scalars, so a
population or a batch of trials is one ``vmap``. Fields that set shapes or program structure
(network sizes, ``num_envs``, booleans, names) are refused, pointing to the configs that compile
separately (:func:`~lagomjax.experiment.sweep_configs`, or one command-line run each).

Every parameter also has a *unit* coordinate ``u`` in ``[0, 1]``: ``low + u (high - low)``, or
``low (high / low)^u`` when ``log``; a choice maps ``u`` to the value at ``floor(u n)`` (its
values sorted). CMA-ES searches in unit coordinates; PBT resamples in them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Param(NamedTuple):
    """One searched field: a range ``[low, high]`` (log-scaled if ``log``), or ``values`` to choose from."""

    name: str
    low: float
    high: float
    log: bool = False
    values: tuple = ()  # sorted; empty for a range


class Space(NamedTuple):
    """Numeric hyper-parameters to search, in a fixed order (see the module docstring)."""

    params: tuple

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def __len__(self) -> int:
        return len(self.params)

    def from_unit(self, u) -> dict:
        """``u [..., D]`` in ``[0, 1]`` (clipped) -> ``{name: [...]}`` float32 values. Jittable."""
        u = jnp.clip(jnp.asarray(u, jnp.float32), 0.0, 1.0)
        out = {}
        for i, p in enumerate(self.params):
            if p.values:
                values = jnp.asarray(p.values, jnp.float32)
                out[p.name] = values[jnp.minimum((u[..., i] * len(p.values)).astype(jnp.int32), len(p.values) - 1)]
            elif p.log:
                out[p.name] = jnp.exp(math.log(p.low) + u[..., i] * (math.log(p.high) - math.log(p.low)))
            else:
                out[p.name] = p.low + u[..., i] * (p.high - p.low)
        return out

    def to_unit(self, hparams: dict):
        """The inverse of :meth:`from_unit` (a choice maps to the middle of its cell): ``[..., D]``."""
        cols = []
        for p in self.params:
            v = jnp.asarray(hparams[p.name], jnp.float32)
            if p.values:
                index = jnp.argmin(jnp.abs(v[..., None] - jnp.asarray(p.values, jnp.float32)), axis=-1)
                cols.append((index + 0.5) / len(p.values))
            elif p.log:
                cols.append((jnp.log(v) - math.log(p.low)) / (math.log(p.high) - math.log(p.low)))
            elif p.high > p.low:
                cols.append((v - p.low) / (p.high - p.low))
            else:
                cols.append(jnp.full(v.shape, 0.5))
        return jnp.stack(cols, axis=-1)

    def sample(self, key, n: int) -> dict:
        """``n`` independent draws (uniform in unit coordinates): ``{name: [n]}``. Jittable."""
        return self.from_unit(jax.random.uniform(key, (n, len(self))))

    def clip(self, hparams: dict) -> dict:
        """Values put back into the space: ranges clipped, choices snapped to the nearest value."""
        out = dict(hparams)
        for p in self.params:
            v = jnp.asarray(hparams[p.name], jnp.float32)
            if p.values:
                values = jnp.asarray(p.values, jnp.float32)
                out[p.name] = values[jnp.argmin(jnp.abs(v[..., None] - values), axis=-1)]
            else:
                out[p.name] = jnp.clip(v, p.low, p.high)
        return out

    def grid(self, num: int = 3, centers: bool = False) -> dict:
        """The Cartesian product (first parameter outermost): a choice's values, or ``num`` points
        spread evenly over a range (geometrically when ``log``), from end to end, or with ``centers``
        at the middles of ``num`` equal cells (unit coordinates ``(k + 1/2) / num``: no point sits on
        an edge of the space). ``{name: float32 [C]}``."""
        axes = []
        u = (np.arange(num) + 0.5) / num if centers else np.linspace(0.0, 1.0, num)
        for p in self.params:
            if p.values:
                axes.append(list(p.values))
            elif p.log:
                axes.append(np.exp(np.log(p.low) + u * (np.log(p.high) - np.log(p.low))).tolist())
            else:
                axes.append((p.low + u * (p.high - p.low)).tolist())
        combos = list(itertools.product(*axes))
        return {p.name: np.asarray([c[i] for c in combos], np.float32) for i, p in enumerate(self.params)}

    def check(self, config) -> Space:
        """Refuse fields ``config`` does not have or cannot trace (not floats), and ranges whose ends
        the config itself refuses (its ``__post_init__``); returns ``self``."""
        fields = {f.name: f.default for f in dataclasses.fields(config)}
        unknown = [n for n in self.names if n not in fields]
        if unknown:
            raise ValueError(f"search space names {unknown}, which are not fields of {type(config).__name__}")
        static = [n for n in self.names if type(fields[n]) is not float]
        if static:
            raise ValueError(
                f"search space fields {static} set shapes or program structure (ints, booleans, names, layer sizes), "
                "so they cannot vary inside one compiled program: search float fields only, and run configs that "
                "differ in those one by one (experiment.sweep_configs, or one command-line run each)"
            )
        for p in self.params:
            for v in p.values or (p.low, p.high):
                try:
                    dataclasses.replace(config, **{p.name: float(v)})
                except (TypeError, ValueError) as e:
                    raise ValueError(f"search space {p.name}: {v} is refused by {type(config).__name__}: {e}") from None
        return self


def _param(name: str, spec) -> Param:
    if not isinstance(spec, dict):
        raise ValueError(f"search space {name}: expected a mapping like {{low: 0.1, high: 0.3}}, got {spec!r}")
    unknown = sorted(set(spec) - {"low", "high", "log", "values"})
    if unknown:
        raise ValueError(f"search space {name}: unknown keys {unknown} (known: low, high, log, values)")
    if "values" in spec:
        if set(spec) - {"values"}:
            raise ValueError(f"search space {name}: give either values or low/high, not both")
        values = spec["values"]
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"search space {name}: values must be a non-empty list of numbers, got {values!r}")
        values = tuple(sorted({_number(name, v) for v in values}))
        return Param(name, values[0], values[-1], False, values)
    if "low" not in spec or "high" not in spec:
        raise ValueError(f"search space {name}: a range needs both low and high, got {spec!r}")
    low, high, log = _number(name, spec["low"]), _number(name, spec["high"]), spec.get("log", False)
    if not isinstance(log, bool):
        raise ValueError(f"search space {name}: log must be true or false, got {log!r}")
    if not low <= high:
        raise ValueError(f"search space {name}: low={low} must be <= high={high}")
    if log and low <= 0:
        raise ValueError(f"search space {name}: a log range needs low > 0, got low={low}")
    return Param(name, low, high, log)


def _number(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"search space {name}: expected a finite number, got {v!r}")
    return float(v)


def load_space(spec, config=None) -> Space:
    """A :class:`Space` from a dict or a YAML file (see the module docstring); checked against
    ``config`` (:meth:`Space.check`) when given."""
    if isinstance(spec, Space):
        space = spec
    else:
        if isinstance(spec, (str, Path)):
            from lagomjax.utils import yaml_load

            path, spec = spec, yaml_load(spec)
            if not isinstance(spec, dict):
                raise ValueError(f"--space {path}: expected a YAML mapping of field: range, got {type(spec).__name__}")
        if not isinstance(spec, dict) or not spec:
            raise ValueError(f"a search space needs at least one field, got {spec!r}")
        space = Space(tuple(_param(str(name), s) for name, s in spec.items()))
    return space.check(config) if config is not None else space


def space_to_dict(space: Space) -> dict:
    """The YAML form of a space (what :func:`load_space` reads)."""
    out = {}
    for p in space.params:
        out[p.name] = {"values": list(p.values)} if p.values else {"low": p.low, "high": p.high, "log": p.log}
    return out
