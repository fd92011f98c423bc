"""VPG / A2C (Williams 1992; Mnih et al. 2016, arXiv:1602.01783) with GAE and an optional LSTM
policy, end to end inside one ``jax.jit``.

    python examples/vpg.py --env CartPole-v1 --num-seeds 8 --total-steps 500000
    python examples/vpg.py --env CartPole-v1 --lstm-size 64

One gradient step per rollout of ``num_envs x num_steps`` steps: the policy gradient with GAE
advantages plus a value loss and an entropy bonus (A2C; ``gae_lambda=1`` and ``vf_coef=0`` without
a baseline give REINFORCE). With ``lstm_size > 0`` actor and critic share a LayerNorm-LSTM torso,
trained by backpropagation through time over the rollout; its state is zeroed where an episode
ends. Truncated episodes bootstrap from the value of the true final observation.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import SimpleNamespace

import flax.linen as nn
import gymnasium as gym
import jax
import jax.numpy as jnp
import optax
from flax import struct

from lagomjax import metric, networks
from lagomjax.baselines import driver, loop, nets
from lagomjax.baselines.losses import normalize, value_loss
from lagomjax.transform import zero_where


@dataclass(frozen=True)
class Config:
    env_id: str = "CartPole-v1"  # a functional environment id, or any gymnasium id (Python path)
    num_envs: int = 8  # environments stepped in parallel per seed
    num_steps: int = 5  # rollout length per update (A2C's 5)
    total_steps: int = 500_000  # environment steps per seed
    lr: float = 1e-3  # Adam learning rate (linearly annealed to 0 when anneal_lr)
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95  # 1.0: Monte-Carlo returns minus the baseline
    ent_coef: float = 0.0
    vf_coef: float = 0.5  # value loss weight (0: no learned baseline)
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True
    hidden_sizes: tuple = (64, 64)
    activation: str = "tanh"
    lstm_size: int = 0  # > 0: an LSTM torso of this size (recurrent policy)
    normalize_obs: bool = False
    normalize_reward: bool = False
    std0: float = 1.0  # initial action std (continuous actions)
    eval_episodes: int = 16

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        return self.total_steps // self.batch_size

    def __post_init__(self):
        driver.check_rollout_config(self)


class RecurrentActorCritic(nn.Module):
    """One step of a shared MLP -> LayerNorm-LSTM torso: ``(carry, obs) -> (carry, dist, value)``."""

    action_space: gym.spaces.Space
    hidden_sizes: tuple
    activation: str
    lstm_size: int
    std0: float

    @nn.compact
    def __call__(self, carry, obs):
        x = networks.MLP(self.hidden_sizes, self.activation)(obs)
        carry, h = networks.LayerNormLSTMCell(self.lstm_size)(carry, x)
        return (
            carry,
            nets.policy_head(self.action_space, self.lstm_size, self.std0)(h),
            networks.ValueHead(self.lstm_size)(h),
        )


@struct.dataclass
class VPGState:
    params: dict
    opt_state: optax.OptState


def make_agent(config: Config, action_space) -> loop.Agent:
    recurrent = config.lstm_size > 0
    if recurrent:
        model = RecurrentActorCritic(
            action_space, config.hidden_sizes, config.activation, config.lstm_size, config.std0
        )
    else:  # the shared feed-forward actor-critic, called like the recurrent one (the carry stays None)
        ff = nets.ActorCritic(action_space, config.hidden_sizes, config.activation, config.std0)
        model = SimpleNamespace(
            init=lambda key, carry, obs: ff.init(key, obs),
            apply=lambda params, carry, obs: (carry, *ff.apply(params, obs)),
        )
    lr = optax.linear_schedule(config.lr, 0.0, config.num_updates) if config.anneal_lr else config.lr
    optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(lr))

    def init_carry(batch_shape):
        zeros = jnp.zeros((*batch_shape, config.lstm_size))
        return (zeros, zeros)

    def init(key, obs):
        params = model.init(key, init_carry(obs.shape[:1]) if recurrent else None, obs)
        return VPGState(params, optimizer.init(params))

    def act(state, key, obs, carry=None):
        new_carry, dist, value = model.apply(state.params, carry, obs)
        action, logp = dist.sample_and_log_prob(seed=key)
        if recurrent:
            return action, {"value": value, "logp": logp, "carry": carry}, new_carry
        return action, {"value": value, "logp": logp}

    def greedy(state, obs, carry=None):
        carry, dist, _ = model.apply(state.params, carry, obs)
        return (nets.mode(dist), carry) if recurrent else nets.mode(dist)

    def evaluate_rollout(params, ro):
        """Log-probs, entropies and values along the rollout, and values of the true next observations."""
        if not recurrent:
            _, dist, values = model.apply(params, None, ro.obs)
            _, _, next_values = model.apply(params, None, ro.next_obs)
            return dist.log_prob(ro.actions), dist.entropy(), values, next_values
        # replay the LSTM over the rollout from the carry it started with, zeroing it where the
        # previous step ended an episode (as the rollout did), and keep the carry after each step
        done = ro.terminated | ro.truncated
        reset = jnp.concatenate([jnp.zeros_like(done[:1]), done[:-1]])

        def step(carry, inputs):
            obs, action, r = inputs
            carry = zero_where(r, carry)
            carry, dist, value = model.apply(params, carry, obs)
            return carry, (dist.log_prob(action), dist.entropy(), value, carry)

        carry0 = jax.tree.map(lambda c: c[0], ro.extras["carry"])
        _, (logp, entropy, values, carries) = jax.lax.scan(step, carry0, (ro.obs, ro.actions, reset))
        _, _, next_values = model.apply(params, carries, ro.next_obs)  # one more step on each next obs
        return logp, entropy, values, next_values

    def loss_fn(params, ro):
        logp, entropy, values, next_values = evaluate_rollout(params, ro)
        advantages = metric.gae_rollout(
            config.gamma,
            config.gae_lambda,
            ro.rewards,
            jax.lax.stop_gradient(values),
            jax.lax.stop_gradient(next_values),
            ro.terminated,
            ro.truncated,
        )
        targets = advantages + jax.lax.stop_gradient(values)
        adv = normalize(advantages) if config.normalize_advantages else advantages
        pg_loss = -jnp.mean(logp * adv)
        v_loss = value_loss(values, targets)
        ent = jnp.mean(entropy)
        loss = pg_loss + config.vf_coef * v_loss - config.ent_coef * ent
        # the replayed log-probs must equal the acting ones (before this update's step): a check
        # that the recurrent replay reproduces the rollout's carries
        replay_err = jnp.max(jnp.abs(jax.lax.stop_gradient(logp) - ro.extras["logp"]))
        return loss, {"pg_loss": pg_loss, "v_loss": v_loss, "entropy": ent, "replay_logp_err": replay_err}

    def learn(state, ro, key, i):
        grads, stats = jax.grad(loss_fn, has_aux=True)(state.params, ro)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        return VPGState(optax.apply_updates(state.params, updates), opt_state), stats

    return loop.Agent(init, act, learn, greedy, init_carry if recurrent else None)


def make_parts(config: Config) -> driver.TrainParts:
    return loop.make_parts(config, make_agent)


def make_train(config: Config):
    """``train(key) -> (state, metrics)`` in one jittable function (see examples/ppo.py)."""
    return loop.make_train(config, make_agent)


def main(argv=None):
    return driver.main("VPG", Config, argv, __doc__, make_agent=make_agent)


if __name__ == "__main__":
    main(sys.argv[1:])
