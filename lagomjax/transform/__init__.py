"""Array transforms: discounted sums, schedules, running moments, curve tools and segment trees."""

from lagomjax.transform.ops import explained_variance, permutation, rank_transform, select_where, zero_where
from lagomjax.transform.running_mean_var import (
    MeanVarState,
    RunningMeanVar,
    mean_var_init,
    mean_var_update,
)
from lagomjax.transform.scan import geometric_cumsum, reverse_linear_scan
from lagomjax.transform.schedule import LinearSchedule, PolyakAverage, polyak_update
from lagomjax.transform.segment_tree import MinTree, SegmentTree, SumTree
from lagomjax.transform.stats import Describe, describe, interp_curves, smooth_filter

__all__ = [
    "Describe",
    "LinearSchedule",
    "MeanVarState",
    "MinTree",
    "PolyakAverage",
    "RunningMeanVar",
    "SegmentTree",
    "SumTree",
    "describe",
    "explained_variance",
    "geometric_cumsum",
    "interp_curves",
    "mean_var_init",
    "mean_var_update",
    "polyak_update",
    "permutation",
    "rank_transform",
    "reverse_linear_scan",
    "select_where",
    "smooth_filter",
    "zero_where",
]
