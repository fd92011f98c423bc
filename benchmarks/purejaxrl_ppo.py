"""A reference for the speed comparison: PPO on gymnax CartPole-v1 in the style of PureJaxRL's
single-file ``ppo.py`` (Lu et al. 2022), written here from its published design: gymnax's
auto-resetting env vmapped over ``num_envs``, separate 64-64 tanh actor and critic with orthogonal
init, rollout / GAE / minibatch epochs each a ``lax.scan``, the whole training one ``jit``. Like
PureJaxRL it treats time-limit truncation as termination (it does not bootstrap).
"""

from __future__ import annotations

import distrax
import flax.linen as nn
import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.linen.initializers import constant, orthogonal


class ActorCritic(nn.Module):
    num_actions: int

    @nn.compact
    def __call__(self, x):
        a = nn.tanh(nn.Dense(64, kernel_init=orthogonal(np.sqrt(2)), bias_init=constant(0.0))(x))
        a = nn.tanh(nn.Dense(64, kernel_init=orthogonal(np.sqrt(2)), bias_init=constant(0.0))(a))
        logits = nn.Dense(self.num_actions, kernel_init=orthogonal(0.01), bias_init=constant(0.0))(a)
        c = nn.tanh(nn.Dense(64, kernel_init=orthogonal(np.sqrt(2)), bias_init=constant(0.0))(x))
        c = nn.tanh(nn.Dense(64, kernel_init=orthogonal(np.sqrt(2)), bias_init=constant(0.0))(c))
        value = nn.Dense(1, kernel_init=orthogonal(1.0), bias_init=constant(0.0))(c)
        return distrax.Categorical(logits=logits), value[:, 0] if value.ndim == 2 else value[..., 0]


def make_train(cfg):
    """``cfg``: num_envs, num_steps, total_steps, update_epochs, num_minibatches, lr, gamma, gae_lambda,
    clip_eps, ent_coef, vf_coef, max_grad_norm (linear lr annealing, as PureJaxRL's CartPole config)."""
    env, params = gymnax.make("CartPole-v1")
    num_updates = cfg.total_steps // (cfg.num_envs * cfg.num_steps)
    batch = cfg.num_envs * cfg.num_steps
    mb = batch // cfg.num_minibatches
    net = ActorCritic(env.action_space(params).n)
    schedule = optax.linear_schedule(cfg.lr, 0.0, num_updates * cfg.update_epochs * cfg.num_minibatches)
    tx = optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm), optax.adam(schedule, eps=1e-5))
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def train(key):
        key, k_net, k_env = jax.random.split(key, 3)
        net_params = net.init(k_net, jnp.zeros(env.observation_space(params).shape))
        opt_state = tx.init(net_params)
        obs, env_state = reset(jax.random.split(k_env, cfg.num_envs), params)
        ep_ret = jnp.zeros(cfg.num_envs)

        def update(carry, _):
            net_params, opt_state, env_state, obs, ep_ret, key = carry

            def env_step(c, _):
                env_state, obs, ep_ret, key = c
                key, k_act, k_step = jax.random.split(key, 3)
                dist, value = net.apply(net_params, obs)
                action = dist.sample(seed=k_act)
                logp = dist.log_prob(action)
                next_obs, env_state, reward, terminated, truncated, _ = step(
                    jax.random.split(k_step, cfg.num_envs), env_state, action, params
                )
                done = terminated | truncated  # gymnax 1.x splits them; PureJaxRL treats both as done
                ep_ret = ep_ret + reward
                finished = jnp.where(done, ep_ret, jnp.nan)
                ep_ret = jnp.where(done, 0.0, ep_ret)
                return (env_state, next_obs, ep_ret, key), (obs, action, logp, value, reward, done, finished)

            (env_state, obs, ep_ret, key), traj = jax.lax.scan(
                env_step, (env_state, obs, ep_ret, key), None, cfg.num_steps
            )
            t_obs, t_act, t_logp, t_val, t_rew, t_done, t_fin = traj
            _, last_val = net.apply(net_params, obs)

            def gae_step(c, x):
                adv, next_val = c
                done, value, reward = x
                delta = reward + cfg.gamma * next_val * (1 - done) - value
                adv = delta + cfg.gamma * cfg.gae_lambda * (1 - done) * adv
                return (adv, value), adv

            _, advantages = jax.lax.scan(
                gae_step, (jnp.zeros_like(last_val), last_val), (t_done, t_val, t_rew), reverse=True
            )
            targets = advantages + t_val

            def loss_fn(p, b):
                obs, act, logp_old, val_old, adv, tgt = b
                dist, value = net.apply(p, obs)
                v_clip = val_old + jnp.clip(value - val_old, -cfg.clip_eps, cfg.clip_eps)
                v_loss = 0.5 * jnp.maximum(jnp.square(value - tgt), jnp.square(v_clip - tgt)).mean()
                ratio = jnp.exp(dist.log_prob(act) - logp_old)
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv).mean()
                return pg + cfg.vf_coef * v_loss - cfg.ent_coef * dist.entropy().mean()

            def epoch(c, _):
                net_params, opt_state, key = c
                key, k_perm = jax.random.split(key)
                perm = jax.random.permutation(k_perm, batch)
                data = (t_obs, t_act, t_logp, t_val, advantages, targets)
                data = jax.tree.map(lambda x: x.reshape(batch, *x.shape[2:])[perm], data)
                data = jax.tree.map(lambda x: x.reshape(cfg.num_minibatches, mb, *x.shape[1:]), data)

                def sgd(c, b):
                    p, o = c
                    grads = jax.grad(loss_fn)(p, b)
                    updates, o = tx.update(grads, o, p)
                    return (optax.apply_updates(p, updates), o), None

                (net_params, opt_state), _ = jax.lax.scan(sgd, (net_params, opt_state), data)
                return (net_params, opt_state, key), None

            (net_params, opt_state, key), _ = jax.lax.scan(epoch, (net_params, opt_state, key), None, cfg.update_epochs)
            return (net_params, opt_state, env_state, obs, ep_ret, key), jnp.nanmean(t_fin)

        carry = (net_params, opt_state, env_state, obs, ep_ret, key)
        carry, returns = jax.lax.scan(update, carry, None, num_updates)
        return carry[0], returns

    return train
