"""What the baselines in ``examples/`` share: losses, deterministic evaluation, and the host-side
driver (flags, progress bar, seeds in one program, lagom's log layout, table, learning curve)."""

from lagomjax.baselines.evaluation import evaluate
from lagomjax.baselines.losses import clipped_surrogate_loss, normalize, value_loss

__all__ = ["clipped_surrogate_loss", "evaluate", "normalize", "value_loss"]
