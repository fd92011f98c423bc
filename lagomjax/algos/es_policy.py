"""Policy search with an evolution strategy (CMA-ES, CEM or OpenAI-ES): the policy's parameters are
one flat vector; every generation asks for a population, runs each member's episodes with the fitness
vmapped over the population, and tells the strategy the returns. All generations run inside one
``jax.jit`` (``jax.vmap(train)`` over seeds, too).

    python -m lagomjax.train es_policy --env CartPole-v1 --num-seeds 8
    python -m lagomjax.train es_policy --env Pendulum-v1 --strategy openai_es --popsize 64 --generations 200

Policies are deterministic: the argmax of a small MLP's logits (discrete actions) or its tanh
output in ``[-1, 1]`` (continuous; the env rescales).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import flax.linen as nn
import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from lagomjax import es, networks
from lagomjax._checks import concrete
from lagomjax.algos.configs import CHOICES, check_fields
from lagomjax.envs import evaluate
from lagomjax.envs.registry import env_kwargs
from lagomjax.train.loop import TrainParts, make_envs, train_from_parts

NAME = "ES-policy"


@dataclass(frozen=True)
class Config:
    choices: ClassVar[dict] = CHOICES

    env_id: str = "CartPole-v1"  # a functional environment id, or any gymnasium id (Python path)
    env_kwargs: str = ""  # the environment's make() arguments, a YAML mapping: '{continuous: true}'
    strategy: str = "cmaes"  # 'cmaes', 'cem' or 'openai_es'
    popsize: int = 16
    generations: int = 40
    episodes_per_member: int = 2  # fitness = mean return over this many episodes
    sigma0: float = 0.5  # initial search std around the initial policy (zeros for CMA-ES/CEM)
    elite_ratio: float = 0.2  # CEM
    es_lr: float = 0.05  # OpenAI-ES Adam step
    hidden_sizes: tuple = (16,)
    activation: str = "tanh"
    torso: str = "mlp"  # mlp (image observations flattened), or cnn for images [H, W, C] (best with openai_es)
    eval_episodes: int = 16  # deterministic evaluation episodes of the final mean policy
    gamma: float = 1.0  # unused by ES (kept for the shared env factory)

    @property
    def num_updates(self) -> int:
        return self.generations

    @property
    def num_envs(self) -> int:
        return self.popsize * self.episodes_per_member

    def __post_init__(self):
        check_fields(self, skip=("sigma0",) if self.strategy == "cem" else ())
        if concrete(self.sigma0) is not None and not self.sigma0 >= 0:  # CEM may start from a point: noise moves it
            raise ValueError(f"sigma0 must be >= 0 for CEM, got {self.sigma0}")


class Policy(nn.Module):
    action_space: gym.spaces.Space
    hidden_sizes: tuple
    activation: str
    torso: str = "mlp"

    @nn.compact
    def __call__(self, obs):
        if self.torso == "cnn":  # MinAtar's network (networks.torso): a 3x3 convolution, then the MLP
            h = networks.torso("cnn", self.hidden_sizes, self.activation, obs)
        else:
            h = networks.MLP(self.hidden_sizes, self.activation)(obs)
        if isinstance(self.action_space, gym.spaces.Discrete):
            return jnp.argmax(nn.Dense(int(self.action_space.n))(h), axis=-1)
        return jnp.tanh(nn.Dense(self.action_space.shape[0])(h))


def make_strategy(config: Config, dim: int) -> es.Strategy:
    if config.strategy == "cmaes":
        return es.cmaes(config.popsize)
    if config.strategy == "cem":
        return es.cem(config.popsize, elite_ratio=config.elite_ratio)
    return es.openai_es(config.popsize, lr=config.es_lr)


@struct.dataclass
class ESPolicyState:
    es_state: object
    env_steps: jnp.ndarray  # int32, cumulative
    key: jax.Array


def make_policy(config: Config, observation_space, action_space):
    """``(policy module, template params, flat dimension)``."""
    policy = Policy(action_space, config.hidden_sizes, config.activation, config.torso)
    template = policy.init(jax.random.key(0), jnp.zeros(observation_space.shape))
    return policy, template, networks.num_params(template)


def make_parts(config: Config) -> TrainParts:
    # popsize * episodes_per_member envs, each scored on its first episode: no auto-reset
    env, eval_env_fn, max_steps = make_envs(config, auto_reset=False)
    policy, template, dim = make_policy(config, env.observation_space, env.action_space)
    strategy = make_strategy(config, dim)
    n, k = config.popsize, config.episodes_per_member

    def population_policy(solutions):
        """Member ``i`` (a row of ``solutions``) acts in envs ``[i k, (i + 1) k)``."""
        params = jax.vmap(networks.from_vec, in_axes=(0, None))(solutions, template)

        def act(obs, pstate):
            actions = jax.vmap(policy.apply)(params, obs.reshape(n, k, *obs.shape[1:]))
            return actions.reshape(n * k, *actions.shape[2:]), pstate

        return act

    def init(key):
        k_init, k_loop = jax.random.split(key)
        if config.strategy == "openai_es":  # a gradient method: start from a random network
            x0 = networks.to_vec(policy.init(k_init, jnp.zeros(env.observation_space.shape)))
        else:  # CMA-ES and CEM: the zero policy, sigma0 sets the search scale
            x0 = jnp.zeros(dim)
        return ESPolicyState(strategy.init(x0, config.sigma0), jnp.zeros((), jnp.int32), k_loop)

    def update(state: ESPolicyState, i):
        key, k_ask, k_eval = jax.random.split(state.key, 3)
        solutions, es_state = strategy.ask(k_ask, state.es_state)
        _, returns, lengths = evaluate(env, population_policy(solutions), k_eval, max_steps)
        fitness = returns.reshape(n, k).mean(axis=1)
        es_state = strategy.tell(es_state, solutions, -fitness)  # the strategies minimise
        env_steps = state.env_steps + lengths.sum()
        result = strategy.result(es_state)
        metrics = {
            "env_steps": env_steps,
            "episode_return": fitness.mean(),
            "finite": ~result.stop["nonfinite"],  # NaN fitness counts as worst; a non-finite tell is refused
            "best_return": fitness.max(),
            "sigma": result.stds.mean(),
        }
        return ESPolicyState(es_state, env_steps, key), metrics

    def finish(state: ESPolicyState, key):
        """Deterministic evaluation of the search distribution's mean."""
        params = networks.from_vec(strategy.result(state.es_state).xfavorite, template)
        act = lambda obs, pstate: (policy.apply(params, obs), pstate)  # noqa: E731
        return evaluate(eval_env_fn(None), act, jax.random.fold_in(key, 1), max_steps)[0]

    return TrainParts(init, update, finish, config)


def make_train(config: Config):
    """``train(key) -> (state, metrics)``: every generation in one jittable function."""
    return train_from_parts(make_parts(config), config.num_updates)


def run_gym(config: Config, num_seeds: int, seed: int = 0):
    """The Python runner path: each member's episodes run on a gymnasium env with lagom's
    ``EpisodeRunner``; ask and tell stay compiled. Seeds run one after another."""
    from lagomjax.agent import BaseAgent
    from lagomjax.runner import EpisodeRunner
    from lagomjax.train.gym_loop import make_vector_env

    class MemberAgent(BaseAgent):
        def __init__(self, params):
            self.params = params

        def choose_action(self, x, **kwargs):
            return {"raw_action": np.asarray(act(self.params, jnp.asarray(x, jnp.float32)))}

        def learn(self, D, **kwargs):
            return {}

    env = make_vector_env(config.env_id, config.episodes_per_member, seed=seed, **env_kwargs(config))
    policy, template, dim = make_policy(config, env.single_observation_space, env.single_action_space)
    act = jax.jit(policy.apply)
    strategy = make_strategy(config, dim)
    ask, tell = jax.jit(strategy.ask), jax.jit(strategy.tell)
    runner = EpisodeRunner()
    runs = []
    for key in jax.random.split(jax.random.key(seed), num_seeds):
        t0, steps = time.perf_counter(), 0
        state = strategy.init(jnp.zeros(dim), config.sigma0)
        rows = []
        for g in range(config.generations):
            solutions, state = ask(jax.random.fold_in(key, g), state)
            fitness = []
            for x in solutions:
                D = runner(MemberAgent(networks.from_vec(x, template)), env, config.episodes_per_member)
                fitness.append(np.mean([traj.rewards.sum() for traj in D]))
                steps += sum(traj.T for traj in D)
            state = tell(state, solutions, -jnp.asarray(fitness, jnp.float32))
            rows.append((steps, np.mean(fitness), np.max(fitness)))
        params = networks.from_vec(strategy.result(state).xfavorite, template)
        D = runner(MemberAgent(params), env, config.eval_episodes)
        run_s = time.perf_counter() - t0
        runs.append((rows, np.mean([traj.rewards.sum() for traj in D]), steps / run_s, run_s))
    env.close()
    metrics = {
        "env_steps": np.asarray([[r[0] for r in rows] for rows, *_ in runs]),
        "episode_return": np.asarray([[r[1] for r in rows] for rows, *_ in runs]),
        "best_return": np.asarray([[r[2] for r in rows] for rows, *_ in runs]),
        "eval_return": np.asarray([r[1] for r in runs]),
    }
    timing = {"compile_s": 0.0, "run_s": sum(r[3] for r in runs), "env_steps_per_s": np.mean([r[2] for r in runs])}
    return metrics, timing
