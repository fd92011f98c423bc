"""A new algorithm from the library's parts: an actor-critic that takes several gradient steps on
each rollout and corrects the later, off-policy ones with V-trace (IMPALA's loss, Espeholt et al.
2018), in about forty lines.

    python examples/custom_algorithm.py --env CartPole-v1 --num-seeds 4

The parts: a typed ``Config`` extending the shared actor-critic fields (so every field is a flag),
the shared actor-critic model and its rollout replay (``lagomjax.algos.actor_critic``; an LSTM
works too, ``--lstm-size 64``), ``losses.vtrace_loss``, and an :class:`~lagomjax.train.Agent`
whose ``learn`` is the only new code. ``entry_points`` gives ``make_parts`` / ``make_train``
(one jitted ``train(key)``, vmappable over seeds), and the library's driver gives the command
line, logs, table and learning curve.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from lagomjax.algos import actor_critic as ac
from lagomjax.algos.configs import ActorCriticConfig
from lagomjax.losses import vtrace_loss
from lagomjax.train import driver
from lagomjax.train.loop import entry_points

NAME = "VtraceAC"


@dataclass(frozen=True)
class Config(ActorCriticConfig):
    num_envs: int = 8
    num_steps: int = 32
    total_steps: int = 200_000
    epochs: int = 4  # gradient steps per rollout: all but the first are off-policy
    clip_rho: float = 1.0  # V-trace importance-weight truncation of the value targets
    clip_pg_rho: float = 1.0  # ... and of the policy-gradient advantages


def make_agent(config: Config, action_space):
    model = ac.make_model(config, action_space)
    opt = ac.optimizer(config, config.num_updates * config.epochs)

    def loss_fn(params, ro):
        logp, entropy, values, after = ac.replay(
            model, params, ro.obs, ro.actions, ac.initial_policy_state(ro), ac.episode_starts(ro)
        )
        next_values = model.apply(params, after, ro.next_obs)[2]
        pg_loss, v_loss = vtrace_loss(ro.extras["logp"], logp, config.gamma, ro.rewards, values, next_values,
                                      ro.terminated, ro.truncated, config.clip_rho, config.clip_pg_rho)  # fmt: skip
        entropy = jnp.mean(entropy)
        loss = pg_loss + config.vf_coef * v_loss - config.ent_coef * entropy
        return loss, {"pg_loss": pg_loss, "v_loss": v_loss, "entropy": entropy}

    def learn(state, ro, key, i):
        def step(state, _):
            grads, stats = jax.grad(loss_fn, has_aux=True)(state.params, ro)
            return ac.apply_gradients(opt, state, grads), stats

        state, stats = jax.lax.scan(step, state, None, length=config.epochs)
        return state, jax.tree.map(jnp.mean, stats)

    return ac.make_agent(model, opt, learn)


make_parts, make_train = entry_points(make_agent)

if __name__ == "__main__":
    driver.main(sys.modules[__name__], sys.argv[1:])
