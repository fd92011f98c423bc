"""Host-side utilities: seeding, array conversion, atomic serialisation, colours, timing, conditioners.

Nothing here is traced; these are for scripts, experiment drivers and loggers.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import cloudpickle
import jax
import jax.numpy as jnp
import numpy as np
import yaml

# ----------------------------------------------------------------------------------------------
# seeding and conversion
# ----------------------------------------------------------------------------------------------


def enable_compile_cache(path=None, min_compile_s: float = 1.0) -> Path | None:
    """Turn on JAX's persistent compilation cache, so a program compiled once on this machine loads
    from disk in later processes. ``path``: the directory (default ``$LAGOMJAX_COMPILE_CACHE``, else
    ``~/.cache/lagomjax/jax``); ``'off'`` (or ``LAGOMJAX_COMPILE_CACHE=off``) leaves it off. Programs
    that compile in under ``min_compile_s`` are not stored. Returns the directory, or ``None`` when
    off. Entries are keyed by the program, jax/jaxlib version and device, so a stale entry is never
    used; delete the directory to reclaim the space."""
    import jax

    where = str(path) if path else os.environ.get("LAGOMJAX_COMPILE_CACHE", "")
    if where.lower() == "off":
        return None
    folder = Path(where).expanduser() if where else Path.home() / ".cache" / "lagomjax" / "jax"
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_s))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder


@functools.cache
def _malloc_trim():
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        return None


def release_host_memory() -> bool:
    """Hand the host memory that ``free`` has taken back but still holds to the operating system
    (glibc's ``malloc_trim(0)``); returns whether any was released (always False without glibc).
    XLA:CPU's worker threads each allocate from their own malloc arena, and what a compiled call
    frees there stays in the process: a long many-seed run's resident memory then creeps up by
    hundreds of MB without any live array growing. The command line's loop, PBT and the trial pool
    call this after every chunk (a few ms)."""
    trim = _malloc_trim()
    return bool(trim is not None and trim(0))


def set_global_seeds(seed: int) -> jax.Array:
    """Seed Python's ``random`` and NumPy's global generator, and return ``jax.random.key(seed)``.

    JAX has no global random state: pass the returned key (and keys split from it) explicitly.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 (seeding the legacy global generator is the point)
    return jax.random.key(int(seed))


class Seeder:
    """Deterministic stream of integer seeds (for environments, sub-runs, ...).

    Example:
      >>> Seeder(0)(3) == Seeder(0)(3)
      True
    """

    def __init__(self, init_seed: int = 0):
        self.rng = np.random.default_rng(init_seed)
        self.max = np.iinfo(np.int32).max

    def __call__(self, size=1) -> list:
        """``size`` seeds in ``[0, 2**31 - 1)`` as a (nested) list of Python ints."""
        return self.rng.integers(self.max, size=size).tolist()


def tensorify(x, dtype=None) -> jax.Array:
    """``x`` (array-like, or a list of arrays) as a JAX array."""
    return jnp.asarray(x, dtype=dtype)


def numpify(x, dtype=None) -> np.ndarray:
    """``x`` (a JAX array, array-like or a list of arrays) as a NumPy array."""
    return np.asarray(x, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# atomic files
# ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Open a temporary file beside ``path`` and rename it onto ``path`` only once writing succeeded.

    A crash or exception while writing leaves any earlier ``path`` untouched and no partial file.
    The file gets the permissions a plain ``open`` would (0666 less the umask, usually 0644), not
    the temporary file's 0600, so colleagues can read logs and checkpoints.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _with_ext(f, ext):
    f = Path(f)
    return f.with_suffix(ext) if ext else f


def pickle_dump(obj, f, ext=".pkl") -> Path:
    """Pickle ``obj`` with cloudpickle (lambdas and closures too) to ``f`` with suffix ``ext``, atomically."""
    path = _with_ext(f, ext)
    with atomic_open(path, "wb") as fh:
        cloudpickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def pickle_load(f):
    """Load a pickle written by :func:`pickle_dump`. Unpickling can run arbitrary code: load only
    files you trust (checkpoints use :mod:`lagomjax.checkpoint`, which never unpickles)."""
    with open(f, "rb") as fh:
        return pickle.load(fh)


class _Dumper(yaml.SafeDumper):
    """Safe YAML that also writes tuples (as lists) and NumPy or JAX scalars/arrays (as numbers/lists)."""


_Dumper.add_representer(tuple, lambda d, x: d.represent_list(list(x)))
_Dumper.add_multi_representer(np.generic, lambda d, x: d.represent_data(x.item()))
_Dumper.add_multi_representer(np.ndarray, lambda d, x: d.represent_data(x.tolist()))
_Dumper.add_multi_representer(jax.Array, lambda d, x: d.represent_data(np.asarray(x).tolist()))


def yaml_dump(obj, f, ext=".yml") -> Path:
    """Write ``obj`` as YAML (key order kept) to ``f`` with suffix ``ext``, atomically."""
    path = _with_ext(f, ext)
    with atomic_open(path, "w") as fh:
        yaml.dump(obj, fh, Dumper=_Dumper, sort_keys=False)
    return path


class _Loader(yaml.SafeLoader):
    """Safe YAML that also reads ``1e-4`` as a float (YAML 1.2, and what people write in configs);
    PyYAML follows YAML 1.1, where a float needs a dot (``1.0e-4``) and ``1e-4`` is a string."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def yaml_load(f):
    """Load YAML written by :func:`yaml_dump` (safe loader: no arbitrary objects; ``1e-4`` is a float)."""
    with open(f) as fh:
        return yaml.load(fh, Loader=_Loader)


def yaml_loads(text: str):
    """:func:`yaml_load` of a string (``'{continuous: true, gravity: -9.8}'``)."""
    return yaml.load(text, Loader=_Loader)


class CloudpickleWrapper:
    """Wraps an object (a lambda, a closure) so that it pickles with cloudpickle, e.g. across processes."""

    def __init__(self, x):
        self.x = x

    def __call__(self, *args, **kwargs):
        return self.x(*args, **kwargs)

    def __getstate__(self):
        return cloudpickle.dumps(self.x)

    def __setstate__(self, state):
        self.x = pickle.loads(state)


# ----------------------------------------------------------------------------------------------
# terminal output and timing
# ----------------------------------------------------------------------------------------------

_COLORS = dict(gray=30, red=31, green=32, yellow=33, blue=34, magenta=35, cyan=36, white=37, crimson=38)


def color_str(string: str, color: str, bold: bool = False) -> str:
    """``string`` wrapped in ANSI colour codes; ``color`` is one of gray, red, green, yellow, blue,
    magenta, cyan, white, crimson."""
    if color not in _COLORS:
        raise ValueError(f"color must be one of {sorted(_COLORS)}, got {color!r}")
    attr = [str(_COLORS[color])] + (["1"] if bold else [])
    return f"\x1b[{';'.join(attr)}m{string}\x1b[0m"


@contextlib.contextmanager
def timed(color="green", bold=False, msg=""):
    """Context manager that prints how long its block took."""
    t0 = time.perf_counter()
    yield
    print(color_str(f"=> {msg}{' ' if msg else ''}Took {time.perf_counter() - t0:.2f} s", color, bold))


def timeit(_func=None, *, color="green", bold=False):
    """Decorator that prints how long each call took; usable as ``@timeit`` or ``@timeit(color=...)``."""

    def decorate(func):
        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            with timed(color, bold, msg=f"{func.__qualname__}:"):
                return func(*args, **kwargs)

        return wrapped

    return decorate if _func is None else decorate(_func)


def ask_yes_or_no(msg: str) -> bool:
    """Ask a yes/no question on the terminal until answered. Never called by library code."""
    if not sys.stdin or not sys.stdin.isatty():
        raise RuntimeError(f"ask_yes_or_no needs an interactive terminal to answer {msg!r}")
    while True:
        answer = input(f"{msg} [y/n] ").strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False


# ----------------------------------------------------------------------------------------------
# conditioners (when to log / evaluate / checkpoint)
# ----------------------------------------------------------------------------------------------


class IntervalConditioner:
    """True once every ``interval`` units of a counter (and at ``n == 0``).

    ``mode='accumulative'``: ``n`` is the running total (e.g. env steps so far).
    ``mode='incremental'``: ``n`` is the increment since the last call.

    Example:
      >>> c = IntervalConditioner(interval=10, mode='accumulative')
      >>> [c(n) for n in [0, 5, 10, 12, 25]]
      [True, False, True, False, True]
    """

    def __init__(self, interval, mode):
        if interval <= 0:
            raise ValueError(f"interval must be > 0, got {interval}")
        if mode not in ("accumulative", "incremental"):
            raise ValueError(f"mode must be 'accumulative' or 'incremental', got {mode!r}")
        self.interval = interval
        self.mode = mode
        self.counter = 0
        self.total_n = 0

    def __call__(self, n) -> bool:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return True
        if self.mode == "incremental":
            self.total_n += n
            n = self.total_n
        check = n >= (self.counter + 1) * self.interval
        if check:
            self.counter += 1
        return check


class NConditioner(IntervalConditioner):
    """True ``num_conditions`` times spread evenly over ``[0, max_n]`` (besides ``n == 0``).

    Example:
      >>> c = NConditioner(max_n=100, num_conditions=4, mode='accumulative')
      >>> sum(c(n) for n in range(1, 101))
      4
    """

    def __init__(self, max_n, num_conditions, mode):
        if num_conditions <= 0:
            raise ValueError(f"num_conditions must be > 0, got {num_conditions}")
        self.max_n = max_n
        self.num_conditions = num_conditions
        super().__init__(max_n / num_conditions, mode)

    def __call__(self, n) -> bool:
        if self.counter >= self.num_conditions:
            return False
        return super().__call__(n)
