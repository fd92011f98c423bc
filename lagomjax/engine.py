"""lagom's ``BaseEngine``: the training / evaluation loop of an experiment on the Python path."""

from __future__ import annotations

from abc import ABC, abstractmethod


class BaseEngine(ABC):
    """Holds a config and whatever the experiment passes (agent, env, runner, ...) as attributes.

    ``train(n)`` runs the ``n``-th training iteration and ``eval(n)`` the ``n``-th evaluation; both
    return a dict of statistics (log them with :class:`~lagomjax.Logger`).
    """

    def __init__(self, config, **kwargs):
        self.config = config
        for k, v in kwargs.items():
            setattr(self, k, v)

    @abstractmethod
    def train(self, n=None, **kwargs) -> dict: ...

    @abstractmethod
    def eval(self, n=None, **kwargs) -> dict: ...
