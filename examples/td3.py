"""TD3 (Fujimoto et al. 2018, arXiv:1802.09477): twin critics, target-policy smoothing and delayed
actor updates, end to end inside one ``jax.jit``.

    python examples/td3.py --env Pendulum-v1 --num-seeds 8 --total-steps 20000

Actions live in ``[-1, 1]`` (the env rescales them). Only ``terminated`` stops bootstrapping: a
time-limit truncation (every Pendulum episode ends so) bootstraps from the true final observation.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import optax
from flax import struct

from lagomjax.baselines import driver, loop, nets, offpolicy
from lagomjax.transform import polyak_update


@dataclass(frozen=True)
class Config:
    env_id: str = "Pendulum-v1"  # a functional environment id, or any gymnasium id (Python path)
    num_envs: int = 1  # environments stepped in parallel per seed
    num_steps: int = 1  # steps per environment between learning phases
    total_steps: int = 20_000  # environment steps per seed
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    gamma: float = 0.98  # discount (RL Zoo's Pendulum value)
    tau: float = 0.005  # Polyak rate of the target networks
    buffer_size: int = 200_000
    batch_size: int = 256  # transitions per gradient step
    learning_starts: int = 1_000  # uniform random actions before this many steps
    gradient_steps: int = 1  # gradient steps after every rollout
    exploration_noise: float = 0.1  # std of the Gaussian added to the actor's action
    policy_delay: int = 2  # critic steps per actor (and target) step
    target_noise: float = 0.2  # target-policy smoothing noise std
    target_noise_clip: float = 0.5
    hidden_sizes: tuple = (64, 64)  # small nets learn Pendulum and are ~10x faster on CPU than 256-wide
    activation: str = "relu"
    eval_episodes: int = 16  # deterministic evaluation episodes at the end

    @property
    def num_updates(self) -> int:
        return self.total_steps // (self.num_envs * self.num_steps)

    def __post_init__(self):
        driver.check_rollout_config(self)


@struct.dataclass
class Learner:
    actor: dict
    critic: dict
    target_actor: dict
    target_critic: dict
    actor_opt: optax.OptState
    critic_opt: optax.OptState


def make_agent(config: Config, action_space) -> loop.Agent:
    action_dim = action_space.shape[0]
    actor = nets.DeterministicActor(action_dim, config.hidden_sizes, config.activation)
    critic = nets.ContinuousQ(config.hidden_sizes, config.activation, num_critics=2)
    actor_opt, critic_opt = optax.adam(config.actor_lr), optax.adam(config.critic_lr)

    def init_learner(key, obs):
        k_actor, k_critic = jax.random.split(key)
        a = actor.init(k_actor, obs)
        c = critic.init(k_critic, obs, actor.apply(a, obs))
        return Learner(a, c, a, c, actor_opt.init(a), critic_opt.init(c))

    def greedy(learner, obs):
        return actor.apply(learner.actor, obs)

    def policy(learner, key, obs, steps):
        noise = config.exploration_noise * jax.random.normal(key, (*obs.shape[:1], action_dim))
        return jnp.clip(greedy(learner, obs) + noise, -1.0, 1.0)

    def critic_loss(params, learner, batch, key):
        noise = jnp.clip(
            config.target_noise * jax.random.normal(key, batch["actions"].shape),
            -config.target_noise_clip,
            config.target_noise_clip,
        )
        next_action = jnp.clip(actor.apply(learner.target_actor, batch["next_obs"]) + noise, -1.0, 1.0)
        q_next = critic.apply(learner.target_critic, batch["next_obs"], next_action).min(axis=0)
        target = batch["rewards"] + config.gamma * (1.0 - batch["terminated"]) * q_next
        q = critic.apply(params, batch["obs"], batch["actions"])
        td_error = q - jax.lax.stop_gradient(target)
        return jnp.mean(jnp.square(td_error).sum(axis=0)), td_error[0]

    def actor_loss(params, critic_params, obs):
        return -jnp.mean(critic.apply(critic_params, obs, actor.apply(params, obs))[0])

    def train_step(learner, batch, weights, key, step):
        (c_loss, td_error), grads = jax.value_and_grad(critic_loss, has_aux=True)(learner.critic, learner, batch, key)
        updates, c_opt = critic_opt.update(grads, learner.critic_opt)
        learner = learner.replace(critic=optax.apply_updates(learner.critic, updates), critic_opt=c_opt)

        def delayed(learner):
            a_loss, grads = jax.value_and_grad(actor_loss)(learner.actor, learner.critic, batch["obs"])
            updates, a_opt = actor_opt.update(grads, learner.actor_opt)
            a = optax.apply_updates(learner.actor, updates)
            return learner.replace(
                actor=a,
                actor_opt=a_opt,
                target_actor=polyak_update(learner.target_actor, a, 1.0 - config.tau),
                target_critic=polyak_update(learner.target_critic, learner.critic, 1.0 - config.tau),
            ), a_loss

        # ``step`` is the same for every seed, so this stays a real branch under vmap
        learner, a_loss = jax.lax.cond(
            step % config.policy_delay == 0, delayed, lambda lr: (lr, jnp.float32(jnp.nan)), learner
        )
        return learner, td_error, {"critic_loss": c_loss, "actor_loss": a_loss}

    return offpolicy.make_agent(
        config,
        init_learner=init_learner,
        policy=policy,
        greedy=greedy,
        train_step=train_step,
        random_action=offpolicy.uniform_actions(action_dim),
    )


def make_parts(config: Config) -> driver.TrainParts:
    return loop.make_parts(config, make_agent)


def make_train(config: Config):
    """``train(key) -> (state, metrics)`` in one jittable function (see examples/ppo.py)."""
    return loop.make_train(config, make_agent)


def main(argv=None):
    return driver.main("TD3", Config, argv, __doc__, make_agent=make_agent)


if __name__ == "__main__":
    main(sys.argv[1:])
