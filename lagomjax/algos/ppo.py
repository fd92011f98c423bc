"""PPO (Schulman et al. 2017, arXiv:1707.06347), end to end inside one ``jax.jit``.

    python -m lagomjax.train ppo --env CartPole-v1 --num-seeds 8 --total-steps 500000
    python -m lagomjax.train ppo --env Pendulum-v1 --num-seeds 4 --total-steps 200000
    python -m lagomjax.train ppo --env CartPoleNoVel-v1 --lstm-size 64 --num-envs 16 --num-minibatches 4

``make_train(config)(key)`` runs rollouts, GAE, the clipped-surrogate epochs and a deterministic
evaluation in one compiled program, so ``jax.jit(jax.vmap(train))(keys)`` trains many seeds at once.
The defaults (lr 1e-3, 8 epochs, no entropy bonus) reach 500 on CartPole-v1 within 100k steps on
every seed we tried (16 of 16); the PureJaxRL/CleanRL settings (lr 2.5e-4, 4 epochs, entropy 0.01)
are one flag away. Terminated and truncated episode ends are kept apart: time-limit truncations
bootstrap from the value of the true final observation.

With ``lstm_size > 0`` the policy is recurrent (MLP -> LayerNorm-LSTM, shared by actor and critic):
minibatches are whole environment sequences (``num_envs`` must divide by ``num_minibatches``),
replayed by backpropagation through time from the state each rollout started with.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from lagomjax import metric, transform
from lagomjax.algos import actor_critic as ac
from lagomjax.algos.configs import ActorCriticConfig
from lagomjax.losses import clipped_surrogate_loss, normalize, value_loss
from lagomjax.train.loop import entry_points

NAME = "PPO"


@dataclass(frozen=True)
class Config(ActorCriticConfig):
    num_envs: int = 4
    num_steps: int = 128  # rollout length per update
    total_steps: int = 500_000
    update_epochs: int = 8  # passes over each rollout
    num_minibatches: int = 4  # minibatches per pass
    clip_eps: float = 0.2  # PPO ratio clip
    clip_value: bool = False  # also clip the value loss around the rollout's values by clip_eps (CleanRL, rejax)
    adam_eps: float = 1e-5  # Adam's epsilon (1e-5 as PureJaxRL and CleanRL; optax's default is 1e-8)

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    def __post_init__(self):
        super().__post_init__()
        if self.num_minibatches < 1 or self.update_epochs < 1:
            raise ValueError(
                f"num_minibatches={self.num_minibatches} and update_epochs={self.update_epochs} must be >= 1"
            )
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_envs * num_steps = {self.batch_size} must be divisible by num_minibatches={self.num_minibatches}"
            )
        if self.recurrent and self.num_envs % self.num_minibatches:
            raise ValueError(
                f"a recurrent PPO's minibatches are whole sequences: num_envs={self.num_envs} must be divisible "
                f"by num_minibatches={self.num_minibatches}"
            )


def make_agent(config: Config, action_space):
    """PPO as an :class:`~lagomjax.train.Agent`: act samples and records log-prob and value;
    learn computes truncation-aware GAE and runs the clipped-surrogate epochs."""
    model = ac.make_model(config, action_space)
    opt = ac.optimizer(config, config.num_updates * config.update_epochs * config.num_minibatches, config.adam_eps)

    def loss_fn(params, mb):
        logp, entropy, values, _ = ac.replay(
            model, params, mb["obs"], mb["actions"], mb.get("policy_state", ()), mb.get("starts")
        )
        pg_loss, approx_kl, clip_frac = clipped_surrogate_loss(
            logp, mb["logp"], normalize(mb["advantages"]), config.clip_eps
        )
        if config.clip_value:
            v_loss = value_loss(values, mb["targets"], mb["values"], config.clip_eps)
        else:
            v_loss = value_loss(values, mb["targets"])
        entropy = jnp.mean(entropy)
        loss = pg_loss + config.vf_coef * v_loss - config.ent_coef * entropy
        return loss, {"pg_loss": pg_loss, "v_loss": v_loss, "entropy": entropy, "approx_kl": approx_kl,
                      "clip_frac": clip_frac}  # fmt: skip

    def sgd_step(state, mb):
        grads, stats = jax.grad(loss_fn, has_aux=True)(state.params, mb)
        return ac.apply_gradients(opt, state, grads), stats

    def minibatches(batch, key):
        """Shuffled minibatches on a leading axis: of samples ``[T * B]`` (feed-forward), or of whole
        environment sequences ``[T, B / M]`` with their initial policy states (recurrent)."""
        m = config.num_minibatches
        if not model.recurrent:
            perm = transform.permutation(key, config.batch_size)
            return jax.tree.map(
                lambda x: x.reshape(config.batch_size, *x.shape[2:])[perm].reshape(m, -1, *x.shape[2:]), batch
            )
        perm = transform.permutation(key, config.num_envs)
        seq = {k: v for k, v in batch.items() if k != "policy_state"}
        seq = jax.tree.map(lambda x: jnp.swapaxes(x[:, perm].reshape(x.shape[0], m, -1, *x.shape[2:]), 0, 1), seq)
        ps = jax.tree.map(lambda x: x[perm].reshape(m, -1, *x.shape[1:]), batch["policy_state"])
        return {**seq, "policy_state": ps}

    def epoch(state_batch, key):
        state, batch = state_batch
        state, stats = jax.lax.scan(sgd_step, state, minibatches(batch, key))
        return (state, batch), stats

    def learn(state, ro, key, i):
        values = ro.extras["value"]
        next_values = ac.next_values(model, state.params, ro)  # V of the true next observations
        advantages = metric.gae_rollout(
            config.gamma, config.gae_lambda, ro.rewards, values, next_values, ro.terminated, ro.truncated
        )
        batch = {
            "obs": ro.obs,
            "actions": ro.actions,
            "logp": ro.extras["logp"],
            "advantages": advantages,
            "targets": advantages + values,
        }
        if config.clip_value:
            batch["values"] = values
        if model.recurrent:  # sequences replay from their first policy state, zeroed at episode starts
            batch = {**batch, "starts": ac.episode_starts(ro), "policy_state": ac.initial_policy_state(ro)}
        shuffle_keys = jax.random.split(key, config.update_epochs)  # each seed its own minibatch order
        (state, _), stats = jax.lax.scan(epoch, (state, batch), shuffle_keys)
        return state, jax.tree.map(jnp.mean, stats)

    return ac.make_agent(model, opt, learn)


make_parts, make_train = entry_points(make_agent)
