"""TD3 (Fujimoto et al. 2018, arXiv:1802.09477): DDPG with twin critics, target-policy smoothing and
delayed actor updates, end to end inside one ``jax.jit``. The implementation is
:func:`lagomjax.algos.ddpg.make_agent`; TD3 sets its three settings.

    python -m lagomjax.train td3 --env Pendulum-v1 --num-seeds 8 --total-steps 20000
"""

from __future__ import annotations

from dataclasses import dataclass

from lagomjax.algos import ddpg
from lagomjax.train.loop import entry_points

NAME = "TD3"


@dataclass(frozen=True)
class Config(ddpg.Config):
    policy_delay: int = 2  # critic steps per actor (and target) step
    target_noise: float = 0.2  # target-policy smoothing noise std
    target_noise_clip: float = 0.5

    num_critics = 2  # twin critics: the smaller target Q is the target

    def __post_init__(self):
        super().__post_init__()
        if self.policy_delay < 1:  # target_noise and target_noise_clip >= 0: checked with every field
            raise ValueError(f"policy_delay={self.policy_delay} must be >= 1")


make_agent = ddpg.make_agent
make_parts, make_train = entry_points(make_agent)
