"""PPO (Schulman et al. 2017, arXiv:1707.06347), end to end inside one ``jax.jit``.

    python examples/ppo.py --env CartPole-v1 --num-seeds 8 --total-steps 500000
    python examples/ppo.py --env Pendulum-v1 --num-seeds 4 --total-steps 200000

``make_train(config)(key)`` runs rollouts, GAE, the clipped-surrogate epochs and a deterministic
evaluation in one compiled program, so ``jax.jit(jax.vmap(train))(keys)`` trains many seeds at once.
The defaults (lr 1e-3, 8 epochs, no entropy bonus) reach 500 on CartPole-v1 within 100k steps on
every seed we tried (16 of 16); the PureJaxRL/CleanRL settings (lr 2.5e-4, 4 epochs, entropy 0.01)
are one flag away. Terminated and truncated episode ends are kept apart: time-limit truncations
bootstrap from the value of the true final observation.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax
from flax import struct

from lagomjax import metric
from lagomjax.baselines import driver, loop, nets
from lagomjax.baselines.losses import clipped_surrogate_loss, normalize, value_loss


@dataclass(frozen=True)
class Config:
    env_id: str = "CartPole-v1"  # a functional environment id (see lagomjax.envs.make)
    num_envs: int = 4  # environments stepped in parallel per seed
    num_steps: int = 128  # rollout length per update
    total_steps: int = 500_000  # environment steps per seed
    update_epochs: int = 8  # passes over each rollout
    num_minibatches: int = 4  # minibatches per pass
    lr: float = 1e-3  # Adam learning rate (linearly annealed to 0 when anneal_lr)
    gamma: float = 0.99  # discount
    gae_lambda: float = 0.95  # GAE lambda
    clip_eps: float = 0.2  # PPO ratio clip
    ent_coef: float = 0.0  # entropy bonus
    vf_coef: float = 0.5  # value loss weight
    max_grad_norm: float = 0.5  # global gradient-norm clip
    anneal_lr: bool = True  # linear learning-rate decay over training
    hidden_sizes: tuple = (64, 64)  # actor and critic torsos
    activation: str = "tanh"  # torso nonlinearity
    normalize_obs: bool = False  # running observation normalisation (shared by the seed's envs)
    normalize_reward: bool = False  # reward scaling by the std of the discounted return
    std0: float = 1.0  # initial action std (continuous actions)
    eval_episodes: int = 16  # deterministic evaluation episodes at the end of training

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    @property
    def num_updates(self) -> int:
        return self.total_steps // self.batch_size

    def __post_init__(self):
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_envs * num_steps = {self.batch_size} must be divisible by num_minibatches={self.num_minibatches}"
            )
        if self.num_updates < 1:
            raise ValueError(f"total_steps={self.total_steps} is less than one rollout of {self.batch_size} steps")


@struct.dataclass
class PPOState:
    params: dict
    opt_state: optax.OptState


def make_agent(config: Config, action_space) -> loop.Agent:
    """PPO as an :class:`~lagomjax.baselines.loop.Agent`: act samples and records log-prob and value;
    learn computes truncation-aware GAE and runs the clipped-surrogate epochs."""
    model = nets.ActorCritic(action_space, config.hidden_sizes, config.activation, config.std0)
    lr = (
        optax.linear_schedule(config.lr, 0.0, config.num_updates * config.update_epochs * config.num_minibatches)
        if config.anneal_lr
        else config.lr
    )
    optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(lr, eps=1e-5))

    def init(key, obs):
        params = model.init(key, obs)
        return PPOState(params, optimizer.init(params))

    def act(state, key, obs):
        dist, value = model.apply(state.params, obs)
        action, logp = dist.sample_and_log_prob(seed=key)
        return action, {"logp": logp, "value": value}

    def greedy(state, obs):
        return nets.mode(model.apply(state.params, obs)[0])

    def loss_fn(params, batch):
        dist, values = model.apply(params, batch["obs"])
        pg_loss, approx_kl, clip_frac = clipped_surrogate_loss(
            dist.log_prob(batch["actions"]), batch["logp"], normalize(batch["advantages"]), config.clip_eps
        )
        v_loss = value_loss(values, batch["targets"])
        entropy = jnp.mean(dist.entropy())
        loss = pg_loss + config.vf_coef * v_loss - config.ent_coef * entropy
        return loss, {
            "pg_loss": pg_loss,
            "v_loss": v_loss,
            "entropy": entropy,
            "approx_kl": approx_kl,
            "clip_frac": clip_frac,
        }

    def sgd_step(state, minibatch):
        grads, stats = jax.grad(loss_fn, has_aux=True)(state.params, minibatch)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        return PPOState(optax.apply_updates(state.params, updates), opt_state), stats

    def epoch(carry, key):
        state, batch = carry
        perm = jax.random.permutation(key, config.batch_size)
        shuffled = jax.tree.map(
            lambda x: x[perm].reshape(config.num_minibatches, config.minibatch_size, *x.shape[1:]), batch
        )
        state, stats = jax.lax.scan(sgd_step, state, shuffled)
        return (state, batch), stats

    def learn(state, ro, key, i):
        # values of the true next observations (the final one where an episode ended)
        _, next_values = model.apply(state.params, ro.next_obs)
        values = ro.extras["value"]
        advantages = metric.gae_rollout(
            config.gamma, config.gae_lambda, ro.rewards, values, next_values, ro.terminated, ro.truncated
        )
        flat = lambda x: x.reshape(config.batch_size, *x.shape[2:])  # noqa: E731
        batch = {
            "obs": flat(ro.obs),
            "actions": flat(ro.actions),
            "logp": flat(ro.extras["logp"]),
            "advantages": flat(advantages),
            "targets": flat(advantages + values),
        }
        shuffle_keys = jax.random.split(key, config.update_epochs)  # each seed its own minibatch order
        (state, _), stats = jax.lax.scan(epoch, (state, batch), shuffle_keys)
        return state, jax.tree.map(jnp.mean, stats)

    return loop.Agent(init, act, learn, greedy)


def make_parts(config: Config) -> driver.TrainParts:
    """``init(key) -> state``, ``update(state, i) -> (state, metrics)``, ``finish(state, key) -> eval_return``.

    :func:`make_train` scans ``update`` over all updates inside one jit; the command-line driver runs
    the same ``update`` in chunks so that it can show progress between them.
    """
    return loop.make_parts(config, make_agent)


def make_train(config: Config):
    """``train(key) -> (state, metrics)``: the whole training and a deterministic evaluation in one
    jittable function; ``metrics`` have a leading update axis, ``metrics['eval_return']`` is scalar."""
    return loop.make_train(config, make_agent)


def main(argv=None):
    return driver.main("PPO", Config, argv, __doc__, make_agent=make_agent)


if __name__ == "__main__":
    main(sys.argv[1:])
