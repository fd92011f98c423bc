"""``python -m lagomjax.train <algorithm> [--flag value ...]`` (also the ``lagomjax-train`` command),
and ``python -m lagomjax.train evaluate RUN_DIR [--episodes N] [--seed-index I] [--best] [--stochastic]
[--video PATH]``, and ``python -m lagomjax.train compare RUN [RUN ...]``.

python -m lagomjax.train ppo --env CartPole-v1 --num-seeds 8 --total-steps 500000
python -m lagomjax.train ppo --resume runs/ppo/CartPole-v1/20261130-213000
python -m lagomjax.train evaluate runs/ppo/CartPole-v1/20261130-213000 --episodes 32 --video ppo.gif
python -m lagomjax.train evaluate runs/sac/HalfCheetah-v5/20261130-220000 --video cheetah.mp4
python -m lagomjax.train compare runs/ppo/CartPole-v1 --out ppo_cartpole.png
python -m lagomjax.train sac --env Pendulum-v1 --help
"""

from __future__ import annotations

import argparse
import os
import sys

from lagomjax import algos
from lagomjax.train import driver


def evaluate(argv) -> dict:
    """Load a run's trained policy in this process, evaluate it, optionally record a video."""
    import jax
    import numpy as np

    from lagomjax import vis
    from lagomjax.algos import policies
    from lagomjax.envs.registry import env_kwargs

    parser = argparse.ArgumentParser(prog="python -m lagomjax.train evaluate", description=evaluate.__doc__)
    parser.add_argument("run_dir", help="a run directory (it holds run.yml and checkpoint.ckpt)")
    parser.add_argument("--episodes", type=int, default=16, help="episodes (default: 16)")
    parser.add_argument("--seed-index", default="0",
                        help="which of the run's seeds, or a PBT run's members, or 'all': each, then the mean "
                             "over them (default: 0)")  # fmt: skip
    parser.add_argument("--key", type=int, default=0, help="PRNG key of the evaluation episodes (default: 0)")
    parser.add_argument("--video", "--gif", dest="video", default=None,
                        help="record one episode here: .gif, or .mp4/.webm (lagomjax[video]); without a display "
                             "MuJoCo renders through MUJOCO_GL=egl unless it is set")  # fmt: skip
    parser.add_argument("--best", action="store_true",
                        help="the parameters of the best periodic evaluation (a PBT run: its best member)")  # fmt: skip
    parser.add_argument("--stochastic", action="store_true",
                        help="sample actions as in training (the policy's distribution, DQN's final epsilon, "
                             "TD3/DDPG's noise; seeded by --key) instead of the greedy policy")  # fmt: skip
    args = parser.parse_args(argv)
    if args.video and not os.environ.get("DISPLAY"):
        os.environ.setdefault("MUJOCO_GL", "egl")  # MuJoCo's renderer without a display (read when it is imported)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    if args.seed_index != "all" and not args.seed_index.lstrip("-").isdigit():
        parser.error(f"--seed-index must be a number or 'all', got {args.seed_index!r}")
    if args.seed_index == "all" and args.video:
        parser.error("--video records one policy: give --seed-index a number")
    try:
        if args.video:
            vis.check_video_path(args.video)  # the format, before the run is read
        indices = range(policies.num_policies(args.run_dir)) if args.seed_index == "all" else [int(args.seed_index)]
        loaded = policies.load_policies(args.run_dir, indices, args.best, args.stochastic, args.key)
        policy = loaded[0]
        if args.video:
            vis.check_video_path(args.video, policy.env_id)  # and whether its environment is drawn
    except (ValueError, ImportError) as e:
        parser.error(str(e))
    kind = "stochastic" if args.stochastic else "greedy"
    every = []
    for i, one in zip(indices, loaded, strict=True):
        returns = policies.evaluate_policy(one, args.episodes, args.key)
        every.append(returns)
        print(f"{args.run_dir} seed {i}: return {returns.mean():.1f} +- {returns.std():.1f} "
              f"(min {returns.min():.1f}, max {returns.max():.1f}) over {args.episodes} {kind} episodes")  # fmt: skip
    if len(every) > 1:
        means = np.asarray([r.mean() for r in every])
        print(f"{args.run_dir}, {len(every)} seeds: return {means.mean():.1f} +- {means.std():.1f} (the seeds' "
              f"means: mean +- std over seeds; min {means.min():.1f}, max {means.max():.1f})")  # fmt: skip
    out = {"returns": every[0] if len(every) == 1 else np.stack(every)}
    if args.video:
        out["video"] = vis.record_episode(policy.env_id, policy.act_unit, jax.random.key(args.key), args.video,
                                          init_policy_state=policy.init_policy_state,
                                          env_kwargs=env_kwargs(policy.config))  # fmt: skip
        print(f"episode recorded in {out['video']}")
    return {k: np.asarray(v) if k == "returns" else v for k, v in out.items()}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "evaluate":
        return evaluate(argv[1:])
    if argv and argv[0] == "compare":
        from lagomjax.train import compare

        return compare.main(argv[1:])
    if not argv or argv[0] not in algos.NAMES:
        usage = f"usage: python -m lagomjax.train {{{','.join(algos.NAMES)},evaluate,compare}} [--flag value ...]"
        if argv and argv[0] in ("-h", "--help"):
            print(f"{usage}\n{__doc__}")
            raise SystemExit(0)
        what = f"unknown algorithm {argv[0]!r}" if argv else "no algorithm given"
        print(f"{usage}\n{__doc__}\nerror: {what}; one of {', '.join(algos.NAMES)}, evaluate, compare", file=sys.stderr)
        raise SystemExit(2)
    return driver.main(algos.get(argv[0]), argv[1:])


if __name__ == "__main__":
    main()
