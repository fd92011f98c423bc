"""Random-policy CartPole, 1024 environments: env-steps per second, side by side in one run.

* lagomjax: ``envs.make('CartPole-v1', num_envs)`` stepped inside one jitted ``lax.scan`` (auto-reset,
  episode statistics), and the full ``envs.rollout`` that also stores the time-major batch;
* gymnax ``CartPole-v1`` stepped by the same scan (``jax.vmap`` over environments);
* gymnasium's NumPy vector CartPole (``make_vec(..., vectorization_mode='vector_entry_point')``);
* gymnasium's ``FunctionalJaxVectorEnv`` (``CartPoleJaxVectorEnv``), stepped from Python.

    python benchmarks/env_bench.py [--num-envs 1024] [--steps 1000] [--repeats 3] [--adapter-steps 200]

Suite adapters (with gymnax installed): for each ``gymnax:<id>`` the same random-action scan through
lagomjax's stack (adapter, time limit, auto-reset keeping the final observation, episode statistics)
against the suite's own ``step`` (its auto-reset) vmapped in the same scan; the target is at most
10% overhead.

gymnax comes from the ``bench`` extra; without it its row is skipped. Slow contenders run fewer
steps; throughput is reported per second either way.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from common import best_of
from gymnasium.envs.phys2d.cartpole import CartPoleJaxVectorEnv

from lagomjax import envs

try:
    import gymnax
except ImportError:  # pragma: no cover - optional peer
    gymnax = None


def lagomjax_scan(n, steps, env_id="CartPole-v1"):
    env = envs.make(env_id, num_envs=n)
    num_actions = env.action_space.n

    @jax.jit
    def run(key):
        state, _ = env.reset(key)

        def step(carry, key):
            state, total = carry
            k_a, k_e = jax.random.split(key)
            action = jax.random.randint(k_a, (n,), 0, num_actions)
            state, _, reward, *_ = env.step(k_e, state, action)
            return (state, total + reward.sum()), None

        return jax.lax.scan(step, (state, 0.0), jax.random.split(key, steps))[0][1]

    return lambda: run(jax.random.key(0))


def lagomjax_rollout(n, steps):
    env = envs.make("CartPole-v1", num_envs=n)
    policy = envs.random_policy(env)

    @jax.jit
    def run(key):
        state, obs = env.reset(key)
        return envs.rollout(env, policy, key, state, obs, steps)[1].rewards.sum()

    return lambda: run(jax.random.key(0))


def gymnax_scan(n, steps, name="CartPole-v1"):
    env, params = gymnax.make(name)
    num_actions = env.action_space(params).n
    reset = jax.vmap(env.reset, in_axes=(0, None))
    step_fn = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    @jax.jit
    def run(key):
        _, state = reset(jax.random.split(key, n), params)

        def step(carry, key):
            state, total = carry
            k_a, k_e = jax.random.split(key)
            action = jax.random.randint(k_a, (n,), 0, num_actions)
            _, state, reward, *_ = step_fn(jax.random.split(k_e, n), state, action, params)
            return (state, total + reward.sum()), None

        return jax.lax.scan(step, (state, 0.0), jax.random.split(key, steps))[0][1]

    return lambda: run(jax.random.key(0))


def gymnasium_numpy(n, steps):
    env = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def run():
        total = 0.0
        for _ in range(steps):
            _, reward, *_ = env.step(rng.integers(0, 2, n))
            total += float(reward.sum())
        return total

    return run


def gymnasium_functional_jax(n, steps):
    env = CartPoleJaxVectorEnv(num_envs=n, max_episode_steps=500)
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def run():
        total = 0.0
        for _ in range(steps):
            _, reward, *_ = env.step(jnp.asarray(rng.integers(0, 2, n)))
            total += float(reward.sum())
        return total

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--adapter-steps", type=int, default=200, help="scan length of the adapter rows (0: none)")
    args = parser.parse_args()
    n, T = args.num_envs, args.steps
    print(f"jax {jax.__version__}, gymnasium {gym.__version__}, gymnax {'yes' if gymnax else 'not installed'}")
    contenders = {
        "lagomjax (scan of env.step)": (lagomjax_scan, T),
        "lagomjax envs.rollout (stores the batch)": (lagomjax_rollout, T),
    }
    if gymnax is not None:
        contenders["gymnax CartPole-v1 (same scan)"] = (gymnax_scan, T)
    contenders["gymnasium NumPy vector env"] = (gymnasium_numpy, max(T // 5, 1))
    contenders["gymnasium FunctionalJaxVectorEnv"] = (gymnasium_functional_jax, max(T // 20, 1))
    rates = {}
    for name, (make, steps) in contenders.items():
        rates[name] = n * steps / best_of(make(n, steps), args.repeats)
    ours = rates["lagomjax (scan of env.step)"]
    print(f"\n{n} environments, random actions\n")
    print("| contender | env-steps/s | lagomjax speed-up |")
    print("|---|---:|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate / 1e6:.3f} M | {ours / rate:.1f}x |")
    if gymnax is not None and args.adapter_steps:
        adapters(n, args.adapter_steps, args.repeats)


ADAPTED = ["CartPole-v1", "Acrobot-v1", "Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar", "Catch-bsuite"]


def adapters(n, steps, repeats):
    """Each gymnax id through lagomjax's stack against the suite's own auto-resetting step."""
    print(f"\nsuite adapters: {n} environments, random actions, {steps}-step scan, best of {repeats}\n")
    print("| environment | gymnax's own step | through lagomjax's wrappers | overhead |")
    print("|---|---:|---:|---:|")
    for name in ADAPTED:
        bare = n * steps / best_of(gymnax_scan(n, steps, name), repeats)
        ours = n * steps / best_of(lagomjax_scan(n, steps, f"gymnax:{name}"), repeats)
        print(f"| gymnax:{name} | {bare / 1e6:.3f} M/s | {ours / 1e6:.3f} M/s | {100 * (bare / ours - 1):+.0f}% |")


if __name__ == "__main__":
    main()
