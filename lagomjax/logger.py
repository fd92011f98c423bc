"""``Logger``: lagom's append-only key/value log, host-side, saved atomically with pickle."""

from __future__ import annotations

from lagomjax.utils import pickle_dump


class Logger:
    """Append-only log of ``key -> [values]``.

    Keys are words separated by ``_``; :meth:`dump` prints them title-cased.

    Example:
      >>> logger = Logger()
      >>> logger('iteration', 1); logger('train_loss', 0.12)
      >>> logger('iteration', 2); logger('train_loss', 0.11)
      >>> logger.dump()
      Iteration: [1, 2]
      Train Loss: [0.12, 0.11]
      >>> logger.dump(keys=['train_loss'], index=-1)
      Train Loss: 0.11
    """

    def __init__(self):
        self.logs: dict[str, list] = {}

    def __call__(self, key: str, value) -> None:
        """Append ``value`` to the list under ``key``."""
        if not isinstance(key, str):
            raise TypeError(f"key must be a str, got {type(key).__name__}")
        self.logs.setdefault(key, []).append(value)

    def __getitem__(self, key):
        return self.logs[key]

    def __contains__(self, key):
        return key in self.logs

    def dump(self, keys=None, index=None, indent=0, border=""):
        """Print logged values, one ``Title Key: value`` line per key.

        Args:
          keys: list of keys (all keys when ``None``).
          index: ``None`` for every value, an int (``-1`` is the latest) or a list of ints.
          indent: number of tabs before each line.
          border: a line printed before and after (nothing when empty).
        """
        keys = list(self.logs) if keys is None else keys
        if not isinstance(keys, list):
            raise TypeError(f"keys must be a list, got {type(keys).__name__}")
        if not (index is None or isinstance(index, (int, list))):
            raise TypeError(f"index must be None, an int or a list of ints, got {type(index).__name__}")
        missing = [k for k in keys if k not in self.logs]
        if missing:
            raise KeyError(f"keys not logged: {missing}; logged keys are {list(self.logs)}")
        indices = [] if index is None else [index] if isinstance(index, int) else index
        for key in keys:  # checked before anything is printed
            n = len(self.logs[key])
            bad = [i for i in indices if not -n <= i < n]
            if bad:
                raise IndexError(f"index {bad} out of range for {key!r}, which has {n} logged value(s)")
        if border:
            print(border)
        for key in keys:
            values = self.logs[key]
            if index is None:
                value = values
            elif isinstance(index, int):
                value = values[index]
            else:
                value = [values[i] for i in index]
            print("\t" * indent + f"{key.strip().replace('_', ' ').title()}: {value}")
        if border:
            print(border)

    def save(self, f):
        """Pickle the logs (a plain dict) to ``f`` with suffix ``.pkl`` (as lagom: ``save('logs')``
        writes ``logs.pkl``), atomically; returns the path. Load with ``utils.pickle_load``."""
        return pickle_dump(dict(self.logs), f, ext=".pkl")

    def clear(self):
        """Remove every log."""
        self.logs.clear()

    def __repr__(self):
        return f"Logger({self.logs!r})"
