"""PPO from the command line: the same as ``python -m lagomjax.train ppo`` (every ``Config`` field
is a flag; ``--help`` lists them).

    python examples/ppo.py --env CartPole-v1 --num-seeds 8 --total-steps 500000

The algorithm lives in :mod:`lagomjax.algos.ppo`; this script only runs it.
"""

import sys

from lagomjax.algos import ppo
from lagomjax.train import driver

if __name__ == "__main__":
    driver.main(ppo, sys.argv[1:])
