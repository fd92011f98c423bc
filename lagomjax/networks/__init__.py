"""Flax (linen) networks: layer builders, torsos, distribution heads, MDN, LSTMs, parameter helpers,
and the actor-critic, actor and Q networks the algorithms use."""

from lagomjax.networks.actor_critic import (
    ActorCritic,
    ContinuousQ,
    DeterministicActor,
    DiscreteQ,
    RecurrentActorCritic,
    SquashedGaussianActor,
    mode,
    policy_head,
    torso,
)
from lagomjax.networks.conv import Conv, patch_conv_general_dilated
from lagomjax.networks.dense import Dense, dense_dot_general
from lagomjax.networks.heads import (
    CategoricalHead,
    DiagGaussianHead,
    MultiCategoricalHead,
    TanhGaussianHead,
    ValueHead,
    tanh_gaussian,
)
from lagomjax.networks.init import INITS, calculate_gain, dense_init, ortho_init
from lagomjax.networks.layers import MLP, make_cnn, make_fc, make_transposed_cnn
from lagomjax.networks.lstm import LayerNormLSTMCell, LSTMLayer, StackedLSTM, make_lnlstm
from lagomjax.networks.mdn import MDNHead
from lagomjax.networks.params import from_vec, linear_lr_scheduler, load, num_params, save, to_vec

__all__ = [
    "MLP",
    "Conv",
    "Dense",
    "dense_dot_general",
    "patch_conv_general_dilated",
    "ActorCritic",
    "ContinuousQ",
    "DeterministicActor",
    "DiscreteQ",
    "RecurrentActorCritic",
    "SquashedGaussianActor",
    "mode",
    "policy_head",
    "torso",
    "CategoricalHead",
    "DiagGaussianHead",
    "MultiCategoricalHead",
    "LSTMLayer",
    "LayerNormLSTMCell",
    "MDNHead",
    "StackedLSTM",
    "TanhGaussianHead",
    "ValueHead",
    "INITS",
    "calculate_gain",
    "dense_init",
    "from_vec",
    "linear_lr_scheduler",
    "load",
    "make_cnn",
    "make_fc",
    "make_lnlstm",
    "make_transposed_cnn",
    "num_params",
    "ortho_init",
    "save",
    "tanh_gaussian",
    "to_vec",
]
