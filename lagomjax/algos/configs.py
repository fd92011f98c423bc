"""The config fields algorithms share, as frozen dataclasses each algorithm's ``Config`` extends
(overriding defaults where it differs). Every field is a command-line flag."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RolloutConfig:
    """Training by rollouts of ``num_envs x num_steps`` environment steps, one update each."""

    env_id: str = "CartPole-v1"  # a registered functional environment, or any gymnasium id (Python path)
    num_envs: int = 1  # environments stepped in parallel per seed
    num_steps: int = 1  # steps per environment in each rollout (one update per rollout)
    total_steps: int = 20_000  # environment steps per seed
    gamma: float = 0.99  # discount
    eval_episodes: int = 16  # deterministic evaluation episodes at the end of training

    @property
    def rollout_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_steps // self.rollout_size

    def __post_init__(self):
        if min(self.num_envs, self.num_steps) < 1:
            raise ValueError(f"num_envs={self.num_envs} and num_steps={self.num_steps} must be >= 1")
        if self.total_steps < self.rollout_size:
            raise ValueError(f"total_steps={self.total_steps} is less than one rollout of {self.rollout_size} steps")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1], got {self.gamma}")
        if self.eval_episodes < 1:
            raise ValueError(f"eval_episodes must be >= 1, got {self.eval_episodes}")


@dataclass(frozen=True)
class ActorCriticConfig(RolloutConfig):
    """Policy-gradient actor-critics (PPO, A2C): GAE, an optional LSTM torso, optional normalisers."""

    lr: float = 1e-3  # Adam learning rate (linearly annealed to 0 when anneal_lr)
    anneal_lr: bool = True  # linear learning-rate decay over training
    gae_lambda: float = 0.95  # GAE lambda (1.0: Monte-Carlo returns minus the baseline)
    ent_coef: float = 0.0  # entropy bonus
    vf_coef: float = 0.5  # value loss weight
    max_grad_norm: float = 0.5  # global gradient-norm clip
    hidden_sizes: tuple = (64, 64)  # MLP torso (actor and critic apart; shared under the LSTM)
    activation: str = "tanh"  # torso nonlinearity
    lstm_size: int = 0  # > 0: a recurrent policy, MLP -> LayerNorm-LSTM of this size, trained by BPTT
    normalize_obs: bool = False  # running observation normalisation (shared by the seed's envs)
    normalize_reward: bool = False  # reward scaling by the std of the discounted return
    std0: float = 1.0  # initial action std (continuous actions)

    @property
    def recurrent(self) -> bool:
        return self.lstm_size > 0

    def __post_init__(self):
        super().__post_init__()
        if self.lstm_size < 0:
            raise ValueError(f"lstm_size must be >= 0, got {self.lstm_size}")


@dataclass(frozen=True)
class OffPolicyConfig(RolloutConfig):
    """Replay-buffer algorithms (DQN, DDPG, TD3, SAC): a buffer in the train state, random actions
    until ``learning_starts``, then ``gradient_steps`` sampled updates after every rollout."""

    env_id: str = "Pendulum-v1"
    buffer_size: int = 200_000  # replay capacity (transitions)
    batch_size: int = 256  # transitions per gradient step
    learning_starts: int = 1_000  # uniform random actions before this many steps
    gradient_steps: int = 1  # gradient steps after every rollout
    hidden_sizes: tuple = (64, 64)  # small nets learn Pendulum and are ~10x faster on CPU than 256-wide
    activation: str = "relu"

    def __post_init__(self):
        super().__post_init__()
        if self.rollout_size > self.buffer_size:
            raise ValueError(f"buffer_size={self.buffer_size} is smaller than one rollout ({self.rollout_size} steps)")
        if min(self.batch_size, self.gradient_steps) < 1:
            raise ValueError(f"batch_size={self.batch_size} and gradient_steps={self.gradient_steps} must be >= 1")
