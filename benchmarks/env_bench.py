"""Random-policy rollouts, 1024 environments: env-steps per second, side by side in one run.

* lagomjax: ``envs.make('CartPole-v1', num_envs)`` stepped inside one jitted ``lax.scan`` (auto-reset,
  episode statistics), and the full ``envs.rollout`` that also stores the time-major batch;
* gymnax ``CartPole-v1`` stepped by the same scan (``jax.vmap`` over environments);
* gymnasium's NumPy vector CartPole (``make_vec(..., vectorization_mode='vector_entry_point')``);
* gymnasium's ``FunctionalJaxVectorEnv`` (``CartPoleJaxVectorEnv``), stepped from Python.

    python benchmarks/env_bench.py [--num-envs 1024] [--steps 1000] [--repeats 3] [--adapter-steps 200]

Suite adapters (with gymnax installed): for each registered suite id the same random-action scan
through lagomjax's stack (adapter, time limit, auto-reset keeping the final observation, episode
statistics) against the suite's own auto-resetting step vmapped in the same scan: gymnax's ``step``
(classic control, MinAtar, bsuite), Craftax's ``auto_reset=True`` environment, Jumanji's
``AutoResetWrapper``, brax's ``training.wrap`` and MuJoCo Playground's ``wrap_for_brax_training``
(episode length 1000). The target is at most 10% overhead. The ``reset_pool`` rows step lagomjax's
pool (``num_envs // 16`` fresh resets per step; Craftax's world generation costs about 10x its step)
against the same bare suite. gymnax's rows scan ``--adapter-steps`` steps, the slower suites
``--suite-steps`` (Craftax 5; Playground a whole 1000-step episode, its one reset step included).

gymnax comes from the ``bench`` extra, the other suites from their own extras (``craftax``,
``jumanji``, ``brax``, ``playground``); a suite that is not installed prints "not installed". Slow
contenders run fewer steps; throughput is reported per second either way.
"""

from __future__ import annotations

import argparse
import functools

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


def sampler(space, n):
    """Uniform random actions for ``n`` environments from a gymnasium ``space`` (one function for both
    sides of a comparison)."""
    if isinstance(space, gym.spaces.Discrete):
        return lambda key: jax.random.randint(key, (n,), 0, space.n)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return lambda key: jax.random.randint(key, (n, *space.nvec.shape), 0, jnp.asarray(space.nvec))
    return lambda key: jax.random.uniform(key, (n, *space.shape), minval=space.low, maxval=space.high)


def scan_rate(reset, step, sample, steps):
    """A jitted random-action scan of ``steps`` steps from ``reset(key) -> state`` (reset once,
    outside the timing), ``step(key, state, action) -> (state, reward)``; a thunk for ``best_of``."""

    @jax.jit
    def run(state, key):
        def body(carry, key):
            state, total = carry
            k_a, k_e = jax.random.split(key)
            state, reward = step(k_e, state, sample(k_a))
            return (state, total + reward.sum()), None

        # the final state is returned too: where rewards are constant (brax's pendulum: 1 per step), a
        # total alone would let XLA drop the physics as dead code
        return jax.lax.scan(body, (state, 0.0), jax.random.split(key, steps))[0]

    state = jax.block_until_ready(jax.jit(reset)(jax.random.key(0)))
    return lambda: run(state, jax.random.key(1))


def lagomjax_scan(n, steps, env_id="CartPole-v1", **make_kwargs):
    """lagomjax's stack (adapter, time limit, auto-reset keeping the final observation, episode
    statistics) stepped in the random-action scan."""
    env = envs.make(env_id, num_envs=n, **make_kwargs)

    def step(key, state, action):
        state, _, reward, *_ = env.step(key, state, action)
        return state, reward

    return scan_rate(lambda key: env.reset(key)[0], step, sampler(env.action_space, n), steps)


def lagomjax_rollout(n, steps):
    env = envs.make("CartPole-v1", num_envs=n)
    policy = envs.random_policy(env)

    @jax.jit
    def run(state, obs, key):
        (state, _, _), batch = envs.rollout(env, policy, key, state, obs, steps)
        return state, batch.rewards.sum()

    state, obs = jax.block_until_ready(jax.jit(env.reset)(jax.random.key(0)))  # reset outside the timing
    return lambda: run(state, obs, jax.random.key(1))


def gymnax_scan(n, steps, name="CartPole-v1", env_and_params=None):
    """gymnax's own auto-resetting ``step`` (or a gymnax-API suite's: Craftax) vmapped in the scan."""
    env, params = env_and_params or gymnax.make(name)

    def step(key, state, action):
        _, state, reward, *_ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(jax.random.split(key, n), state, action,
                                                                           params)  # fmt: skip
        return state, reward

    reset = lambda key: jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, n), params)[1]  # noqa: E731
    space = gym.spaces.Discrete(int(env.action_space(params).n))
    return scan_rate(reset, step, sampler(space, n), steps)


def craftax_scan(n, steps, name):
    """Craftax's own environment with its auto-reset (a gymnax ``Environment``)."""
    from craftax.craftax_env import make_craftax_env_from_name

    env = make_craftax_env_from_name(name, auto_reset=True)
    return gymnax_scan(n, steps, env_and_params=(env, env.default_params))


def jumanji_scan(n, steps, name):
    """Jumanji's environment under its own ``AutoResetWrapper``, vmapped."""
    import jumanji
    from jumanji.wrappers import AutoResetWrapper

    env = AutoResetWrapper(jumanji.make(name))
    space = envs.make(f"jumanji:{name}", num_envs=1).action_space

    def step(key, state, action):
        state, timestep = jax.vmap(env.step)(state, action)
        return state, timestep.reward

    return scan_rate(lambda key: jax.vmap(env.reset)(jax.random.split(key, n))[0], step, sampler(space, n), steps)


def brax_scan(n, steps, name, backend=None):
    """brax's environment under its own training wrappers (episode length 1000, auto-reset, vmap)."""
    from brax import envs as brax_envs

    env = brax_envs.get_environment(name, **({"backend": backend} if backend else {}))
    return brax_wrapped_scan(brax_envs.training.wrap(env, episode_length=1000), n, steps)


def playground_scan(n, steps, name):
    """MuJoCo Playground's DM Control task (MJX's JAX pipeline) under its own brax training wrappers
    (episode length 1000, auto-reset to a cached first state, vmap)."""
    from mujoco_playground import dm_control_suite, wrapper

    env = dm_control_suite.load(name, config_overrides={"impl": "jax"})
    return brax_wrapped_scan(wrapper.wrap_for_brax_training(env, 1000), n, steps)


def brax_wrapped_scan(env, n, steps):
    """The random-action scan of an environment already under brax-style training wrappers (batched
    ``reset(raw keys)`` and ``step(state, action)``, its own auto-reset)."""
    space = gym.spaces.Box(-1.0, 1.0, (env.action_size,), np.float32)

    def step(key, state, action):
        state = env.step(state, action)
        return state, state.reward

    reset = lambda key: env.reset(jax.random.key_data(jax.random.split(key, n)))  # noqa: E731  (raw keys, as brax's)
    return scan_rate(reset, step, sampler(space, n), steps)


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
    parser.add_argument("--suite-steps", type=int, default=20, help="scan length of the slower suites' rows")
    args = parser.parse_args()
    n, T = args.num_envs, args.steps
    print(f"jax {jax.__version__}, gymnasium {gym.__version__}, gymnax {'yes' if gymnax else 'not installed'}")
    contenders = {
        "lagomjax (scan of env.step)": (lagomjax_scan, T),
        "lagomjax envs.rollout (stores the batch)": (lagomjax_rollout, T),
        "lagomjax, reset_pool num_envs // 16": (lambda n, t: lagomjax_scan(n, t, reset_pool=max(n // 16, 1)), T),
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
        adapters(n, args.adapter_steps, args.repeats, args.suite_steps)


ADAPTED = ["CartPole-v1", "Acrobot-v1", "Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar", "Catch-bsuite"]
# (lagomjax id, the suite's own scan, its name there, keywords for both, keywords for lagomjax's side only,
# most environments, scan length (None: --suite-steps)); skipped when not installed. A reset_pool row is
# lagomjax's pool of n // 16 resets per step. Craftax's world generation grows faster than the batch on XLA:CPU
# (64 worlds 43 ms, 256 in 0.37 s, 1024 in 20 s): its rows step 256 environments 5 times. brax's own auto-reset
# restores each episode's stored first state where lagomjax draws a fresh one (its pool row shares 64 fresh
# draws per step). DM Control episodes end only at the time limit (1000 steps, all environments at once): the
# Playground rows scan a whole episode, so the step where every environment resets is timed too
CRAFTAX = ("craftax:Craftax-Classic-Symbolic-v1", craftax_scan, "Craftax-Classic-Symbolic-v1", {})
OTHER_SUITES = [
    (*CRAFTAX, {}, 256, 5),
    (*CRAFTAX, {"reset_pool": 16}, 256, 5),
    ("jumanji:Snake-v1", jumanji_scan, "Snake-v1", {}, {}, None, None),
    ("jumanji:Game2048-v1", jumanji_scan, "Game2048-v1", {}, {}, None, None),
    ("brax:inverted_pendulum", brax_scan, "inverted_pendulum", {}, {}, None, None),
    ("brax:inverted_pendulum", brax_scan, "inverted_pendulum", {}, {"reset_pool": 16}, None, None),
    ("brax:ant", brax_scan, "ant", {"backend": "spring"}, {}, None, None),
    ("playground:CartpoleSwingup", playground_scan, "CartpoleSwingup", {}, {}, None, 1000),
    ("playground:CartpoleSwingup", playground_scan, "CartpoleSwingup", {}, {"reset_pool": 16}, None, 1000),
]


def adapters(n, steps, repeats, suite_steps):
    """Each suite id through lagomjax's stack against the suite's own auto-resetting step: gymnax's
    ids at ``steps`` per scan, the slower suites at ``suite_steps``."""
    print(f"\nsuite adapters: {n} environments, random actions, best of {repeats}\n")
    print("| environment | scan | the suite's own step (its auto-reset) | through lagomjax's wrappers | overhead |")
    print("|---|---:|---:|---:|---:|")
    rows = [(f"gymnax:{name}", functools.partial(gymnax_scan, name=name), {}, {}, steps, n) for name in ADAPTED]
    rows += [(env_id, functools.partial(own, name=name, **kw), kw, ours, t or suite_steps, min(n, most or n))
             for env_id, own, name, kw, ours, most, t in OTHER_SUITES]  # fmt: skip
    for env_id, own, kw, ours_kw, t, m in rows:
        if "reset_pool" in ours_kw:  # a pool of 1/16 of the batch
            ours_kw = {**ours_kw, "reset_pool": max(m // ours_kw["reset_pool"], 1)}
        label = env_id + "".join(f" ({k} {v})" for k, v in {**kw, **ours_kw}.items()) + (f", {m} envs" if m < n else "")
        try:
            bare = m * t / best_of(own(m, t), repeats)
        except ImportError as e:
            print(f"| {label} | | not installed ({e.name}) | | |")
            continue
        ours = m * t / best_of(lagomjax_scan(m, t, env_id, **kw, **ours_kw), repeats)
        print(f"| {label} | {t} | {fmt_rate(bare)} | {fmt_rate(ours)} | {100 * (bare / ours - 1):+.0f}% |")


def fmt_rate(rate: float) -> str:
    return f"{rate / 1e6:.2f} M/s" if rate >= 1e5 else f"{rate / 1e3:.1f} k/s"


if __name__ == "__main__":
    main()
