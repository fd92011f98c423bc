"""MinAtar learning side by side with rejax (issue #13): PPO on four games, DQN on Breakout.

    python benchmarks/minatar_bench.py                       # everything, 8 seeds each, 1M steps
    python benchmarks/minatar_bench.py --algos ppo --games Breakout-MinAtar --seeds 4 --steps 200000

The peer is rejax (``pip install rejax``, in the ``bench`` extra) run here through its own ``train``
at its published MinAtar benchmark settings (rejax's ``benchmark/breakout_1m.yaml``: 1M environment
steps; the same settings serve the other games). lagomjax runs the same hyper-parameters: PPO with
32 envs x 32 steps, 4 epochs of 4 minibatches, a 64-64 tanh MLP on the flattened image, constant
learning rate, and the choices rejax's PPO makes in code (value-loss clipping, Adam's eps 1e-8,
Flax's LeCun-normal weights, each gradient entry clipped at 1 rather than the global norm:
``clip_value``, ``adam_eps``, ``weight_init``, ``grad_clip``; ``--lagom-defaults`` keeps lagomjax's
own: no value clipping, eps 1e-5, orthogonal weights, the global-norm clip); DQN with one gradient step
of 100 transitions per environment step, a 64-64 tanh MLP, a target copy every 1,000 steps,
epsilon 1 -> 0.05 over half the run, gamma 1 (rejax's values).
lagomjax's DQN steps 8 environment steps then takes 8 gradient steps (the same ratio).

Both are scored the same way on the final parameters: the greedy policy over 128 episodes per seed
(lagomjax: its own final evaluation; rejax: its policy's mode through rejax's own evaluator). rejax's
own final evaluation (its stochastic PPO policy, epsilon 0.005 for DQN) is reported beside it.
Env-steps/s: all seeds' training steps over the run's wall time, compile excluded, seeds vmapped in
one program on both sides. ``--own-settings`` runs lagomjax's PPO with its own MinAtar settings instead
(``MINATAR_PPO`` of ``baselines_bench.py``: 64 envs x 32 steps, 4 epochs of 4 minibatches, lr 5e-3
annealed, a 64-64 ReLU MLP, gamma 0.99) at the same budget. Runs are long on 2 cores (minutes per
row): run in the background.
"""

from __future__ import annotations

import argparse
import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
from baselines_bench import MINATAR_PPO
from common import timed

from lagomjax import algos

GAMES = ("Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar", "Freeway-MinAtar")
EVAL_EPISODES = 128

# rejax benchmark/breakout_1m.yaml (total_timesteps and eval_freq are set per run)
REJAX = {
    "ppo": {"agent_kwargs": {"activation": "tanh"}, "num_envs": 32, "num_steps": 32, "num_epochs": 4,
            "num_minibatches": 4, "learning_rate": 0.00025674088686342003, "max_grad_norm": 1, "gamma": 0.995,
            "gae_lambda": 0.95, "clip_eps": 0.2, "ent_coef": 0.01, "vf_coef": 0.5},
    "dqn": {"agent_kwargs": {"activation": "tanh"}, "num_envs": 1, "buffer_size": 100_000, "fill_buffer": 20_000,
            "batch_size": 100, "max_grad_norm": 10, "learning_rate": 0.0005, "num_epochs": 1,
            "target_update_freq": 1000, "eps_start": 1, "eps_end": 0.05, "exploration_fraction": 0.5, "gamma": 1.0,
            "ddqn": False},
}  # fmt: skip


def lagom_config(algo: str, game: str, steps: int, rejax_choices: bool = True, own: bool = False):
    """lagomjax's config with rejax's hyper-parameters (and PPO's implementation choices, if asked),
    or (``own``) PPO with lagomjax's own MinAtar settings at the same budget."""
    if own:
        return algos.ppo.Config(**{**MINATAR_PPO, "env_id": f"gymnax:{game}", "total_steps": steps,
                                   "eval_episodes": EVAL_EPISODES})  # fmt: skip
    common = {"env_id": f"gymnax:{game}", "total_steps": steps, "hidden_sizes": (64, 64), "activation": "tanh",
              "anneal_lr": False, "eval_episodes": EVAL_EPISODES}  # fmt: skip
    if algo == "ppo":
        return algos.ppo.Config(
            **common, num_envs=32, num_steps=32, update_epochs=4, num_minibatches=4, lr=0.00025674088686342003,
            max_grad_norm=1.0, gamma=0.995, gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01, vf_coef=0.5,
            **(dict(clip_value=True, adam_eps=1e-8, weight_init="lecun", grad_clip="element") if rejax_choices else {}),
        )  # fmt: skip
    return algos.dqn.Config(
        **common, num_envs=1, num_steps=8, gradient_steps=8, buffer_size=100_000, learning_starts=20_000,
        batch_size=100, max_grad_norm=10.0, lr=0.0005, target_update_interval=125, exploration_fraction=0.5,
        exploration_final_eps=0.05, gamma=1.0, double=False,
    )  # fmt: skip


def run_lagom(algo: str, game: str, steps: int, seeds: int, rejax_choices: bool = True, own: bool = False) -> dict:
    module = algos.get(algo)
    keys = jax.random.split(jax.random.key(0), seeds)
    config = lagom_config(algo, game, steps, rejax_choices, own)
    compile_s, run_s, (_, m) = timed(jax.vmap(module.make_train(config)), (keys,))
    greedy = np.asarray(m["eval_return"], np.float64)
    return {"greedy": greedy, "own": greedy, "compile": compile_s, "run": run_s, "rate": seeds * steps / run_s}


def run_rejax(algo: str, game: str, steps: int, seeds: int) -> dict:
    from rejax import get_algo
    from rejax.evaluate import evaluate_single

    cls = get_algo(algo)
    agent = cls.create(env=game, total_timesteps=steps, eval_freq=steps, skip_initial_evaluation=True,
                       **REJAX[algo])  # fmt: skip
    keys = jax.random.split(jax.random.key(0), seeds)
    compile_s, run_s, (ts, (_, own)) = timed(jax.vmap(cls.train, in_axes=(None, 0)), (agent, keys))

    def greedy_returns(ts, key):
        if algo == "ppo":
            params = ts.actor_ts.params
            act = lambda obs, rng: agent.actor.apply(  # noqa: E731
                params, obs[None], method=lambda m, o: m._action_dist(o).mode()
            )[0]
        else:
            params = ts.q_ts.params
            act = lambda obs, rng: jnp.argmax(agent.agent.apply(params, obs[None])[0])  # noqa: E731
        episode_keys = jax.random.split(key, EVAL_EPISODES)
        run = jax.vmap(evaluate_single, in_axes=(None, None, None, 0, None))
        _, returns = run(act, agent.env, agent.env_params, episode_keys, agent.env_params.max_steps_in_episode)
        return returns.mean()

    eval_keys = jax.random.split(jax.random.key(1), seeds)
    greedy = np.asarray(jax.jit(jax.vmap(greedy_returns))(ts, eval_keys), np.float64)
    own = np.asarray(own, np.float64)[:, -1].mean(-1)  # the last evaluation's 128 episodes
    return {"greedy": greedy, "own": own, "compile": compile_s, "run": run_s, "rate": seeds * steps / run_s}


def fmt(r: np.ndarray) -> str:
    return f"{r.mean():.2f} +- {r.std():.2f} ({r.size} seeds)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="*", default=["ppo", "dqn"], choices=["ppo", "dqn"])
    parser.add_argument("--games", nargs="*", default=list(GAMES))
    parser.add_argument("--dqn-games", nargs="*", default=["Breakout-MinAtar"])
    parser.add_argument("--steps", type=int, default=1_000_000, help="environment steps per seed")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--rejax-dqn-seeds", type=int, default=4, help="rejax's DQN steps one env at a time: slow")
    parser.add_argument("--peers", nargs="*", default=["lagomjax", "rejax"], choices=["lagomjax", "rejax"])
    parser.add_argument("--lagom-defaults", action="store_true",
                        help="lagomjax's PPO without rejax's value clip, Adam eps, LeCun init, entry clip")  # fmt: skip
    parser.add_argument("--own-settings", action="store_true",
                        help="lagomjax's PPO at its own MinAtar settings (64 envs, lr 5e-3, ReLU)")  # fmt: skip
    args = parser.parse_args()

    print(f"## MinAtar, {args.steps:,} steps per seed, {args.seeds} seeds, greedy evaluation ({EVAL_EPISODES} "
          f"episodes per seed), {jax.devices()[0].platform}")  # fmt: skip
    print("| algorithm | game | toolkit | greedy return (mean +- std over seeds) | own final eval | compile | "
          "env-steps/s |\n|---|---|---|---:|---:|---:|---:|")  # fmt: skip
    runners = {"lagomjax": functools.partial(run_lagom, rejax_choices=not args.lagom_defaults, own=args.own_settings),
               "rejax": run_rejax}  # fmt: skip
    for algo in args.algos:
        for game in args.games if algo == "ppo" else args.dqn_games:
            rates = {}
            for peer in args.peers:
                seeds = args.rejax_dqn_seeds if (peer, algo) == ("rejax", "dqn") else args.seeds
                r = runners[peer](algo, game, args.steps, seeds)
                rates[peer] = r["rate"]
                print(f"| {algo.upper()} | {game} | {peer} | {fmt(r['greedy'])} | {fmt(r['own'])} | "
                      f"{r['compile']:.1f} s | {r['rate']:,.0f} |")  # fmt: skip
                sys.stdout.flush()
            if len(rates) == 2:
                print(f"| {algo.upper()} | {game} | speed ratio | | | | {rates['lagomjax'] / rates['rejax']:.2f}x |")


if __name__ == "__main__":
    main()
