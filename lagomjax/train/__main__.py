"""``python -m lagomjax.train <algorithm> [--flag value ...]`` (also the ``lagomjax-train`` command).

python -m lagomjax.train ppo --env CartPole-v1 --num-seeds 8 --total-steps 500000
python -m lagomjax.train sac --env Pendulum-v1 --help
"""

from __future__ import annotations

import sys

from lagomjax import algos
from lagomjax.train import driver


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in algos.NAMES:
        print(f"usage: python -m lagomjax.train {{{','.join(algos.NAMES)}}} [--flag value ...]\n{__doc__}")
        raise SystemExit(0 if argv and argv[0] in ("-h", "--help") else 2)
    return driver.main(algos.get(argv[0]), argv[1:])


if __name__ == "__main__":
    main()
