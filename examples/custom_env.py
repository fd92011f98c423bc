"""Your own environment, trained with the library's PPO: one class and one ``register`` call.

    python examples/custom_env.py                    # PPO, 4 seeds: a table and a learning curve
    python examples/custom_env.py --gif reach.gif    # also one seed's greedy episode as a GIF

``PointReach-v0`` is a point mass on a plane that must reach a random goal: observation
``[x, y, vx, vy, goal_x - x, goal_y - y]``, action a force in ``[-1, 1]^2``, reward ``-distance``,
terminated when the goal is within 0.1, truncated after 100 steps. It is pure JAX (its state is a
pytree), so rollouts, seeds and sweeps compile into one program like the built-in environments.
Registrations live in the process that makes them: import this module (or your own) before
training, as ``main`` below does.
"""

from __future__ import annotations

import sys

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from lagomjax import envs, vis
from lagomjax.algos import ppo
from lagomjax.train import driver

DT, GOAL_RADIUS = 0.1, 0.1


class PointReach(envs.JaxEnv):
    """``state = (position [2], velocity [2], goal [2])``; two pure methods, no time limit of its own."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (6,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, key):
        k_pos, k_goal = jax.random.split(key)
        state = (
            jax.random.uniform(k_pos, (2,), minval=-1, maxval=1),
            jnp.zeros(2),
            jax.random.uniform(k_goal, (2,), minval=-1, maxval=1),
        )
        return state, self._obs(state)

    def _obs(self, state):
        pos, vel, goal = state
        return jnp.concatenate([pos, vel, goal - pos]).astype(jnp.float32)

    def step(self, key, state, action):
        pos, vel, goal = state
        vel = 0.9 * vel + DT * jnp.clip(action, -1.0, 1.0)
        pos = jnp.clip(pos + DT * vel, -1.5, 1.5)
        distance = jnp.linalg.norm(goal - pos)
        state = (pos, vel, goal)
        return state, self._obs(state), -distance, distance < GOAL_RADIUS, jnp.zeros((), bool), {}


def draw(state) -> np.ndarray:
    """The drawing hook ``vis.episode_gif`` uses: an RGB frame of the innermost state."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos, _, goal = (np.asarray(x) for x in state)
    fig = plt.figure(figsize=(2, 2), dpi=80)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.6, 1.6)
    ax.axis("off")
    ax.add_patch(plt.Circle(goal, GOAL_RADIUS, color="tab:green"))
    ax.plot(*pos, "o", color="tab:blue", markersize=10)
    fig.canvas.draw()
    frame = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return frame


if not envs.is_registered("PointReach-v0"):
    envs.register("PointReach-v0", PointReach, max_episode_steps=100, render=draw)


def greedy_gif(config: ppo.Config, path, key=None):
    """Train one seed of PPO ``config`` and draw one episode of its greedy policy as a GIF."""
    key = jax.random.key(0) if key is None else key
    state, _ = jax.jit(ppo.make_train(config))(key)
    agent = ppo.make_agent(config, envs.RescaleAction(envs.make(config.env_id)).action_space)
    act = lambda obs, pstate: agent.greedy(state.agent, obs, pstate)  # noqa: E731
    return vis.episode_gif(config.env_id, act, key, path)


def main(argv=None):
    """PPO on ``PointReach-v0`` through the library's command line (any PPO flag works)."""
    argv = list(argv or [])
    gif = argv.pop(argv.index("--gif") + 1) if "--gif" in argv else None
    argv = [a for a in argv if a != "--gif"]
    defaults = ["--env", "PointReach-v0", "--total-steps", "100000", "--num-seeds", "4"]
    metrics, timing = driver.main(ppo, defaults + argv)  # a new directory under runs/ppo/PointReach-v0/
    if gif:
        print(f"greedy episode: {greedy_gif(ppo.Config(env_id='PointReach-v0', total_steps=100_000), gif)}")
    return metrics, timing


if __name__ == "__main__":
    main(sys.argv[1:])
