"""VPG / A2C (Williams 1992; Mnih et al. 2016, arXiv:1602.01783) with GAE and an optional LSTM
policy, end to end inside one ``jax.jit``.

    python -m lagomjax.train vpg --env CartPole-v1 --num-seeds 8 --total-steps 500000
    python -m lagomjax.train vpg --env CartPoleNoVel-v1 --lstm-size 64 --num-steps 16

One gradient step per rollout of ``num_envs x num_steps`` steps: the policy gradient with GAE
advantages plus a value loss and an entropy bonus (A2C; ``gae_lambda=1`` and ``vf_coef=0`` without
a baseline give REINFORCE). With ``lstm_size > 0`` actor and critic share a LayerNorm-LSTM torso,
trained by backpropagation through time over the rollout; its state is zeroed where an episode
ends. Truncated episodes bootstrap from the value of the true final observation.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from lagomjax import metric
from lagomjax.algos import actor_critic as ac
from lagomjax.algos.configs import ActorCriticConfig
from lagomjax.losses import normalize, policy_gradient_loss, value_loss
from lagomjax.train.loop import entry_points

NAME = "VPG"


@dataclass(frozen=True)
class Config(ActorCriticConfig):
    num_envs: int = 8
    num_steps: int = 5  # rollout length per update (A2C's 5)
    total_steps: int = 500_000
    normalize_advantages: bool = True

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps


def make_agent(config: Config, action_space):
    model = ac.make_model(config, action_space)
    opt = ac.optimizer(config, config.num_updates)

    def loss_fn(params, ro):
        logp, entropy, values, after = ac.replay(
            model, params, ro.obs, ro.actions, ac.initial_policy_state(ro), ac.episode_starts(ro)
        )
        next_values = model.apply(params, after, ro.next_obs)[2]
        values_sg, next_sg = jax.lax.stop_gradient(values), jax.lax.stop_gradient(next_values)
        advantages = metric.gae_rollout(
            config.gamma, config.gae_lambda, ro.rewards, values_sg, next_sg, ro.terminated, ro.truncated
        )
        pg_loss = policy_gradient_loss(logp, normalize(advantages) if config.normalize_advantages else advantages)
        v_loss = value_loss(values, advantages + values_sg)
        ent = jnp.mean(entropy)
        loss = pg_loss + config.vf_coef * v_loss - config.ent_coef * ent
        # the replayed log-probs must equal the acting ones (before this update's step): a check
        # that a recurrent replay reproduces the rollout's policy states
        replay_err = jnp.max(jnp.abs(jax.lax.stop_gradient(logp) - ro.extras["logp"]))
        return loss, {"pg_loss": pg_loss, "v_loss": v_loss, "entropy": ent, "replay_logp_err": replay_err}

    def learn(state, ro, key, i):
        grads, stats = jax.grad(loss_fn, has_aux=True)(state.params, ro)
        return ac.apply_gradients(opt, state, grads), stats

    return ac.make_agent(model, opt, learn)


make_parts, make_train = entry_points(make_agent)
