"""gymnasium's classic-control twins, registered at import: ``CartPole-v1``, ``Pendulum-v1``,
``Acrobot-v1``, ``MountainCar-v0``, ``MountainCarContinuous-v0`` and ``CartPoleNoVel-v1`` (CartPole
observing only cart position and pole angle, as RL Zoo's id).

CartPole's and Pendulum's physics are gymnasium's own ``FuncEnv`` implementations
(``gymnasium.envs.phys2d``); the others are ours (:mod:`lagomjax.envs.classic_twins`). gymnasium's
phys2d CartPole sets ``polemass_length = masspole + length`` (0.6) where CartPole-v1 uses
``masspole * length`` (0.05): the twin passes the corrected parameter, and the tests check both twins
against gymnasium's NumPy environments step for step.
"""

from __future__ import annotations

import numpy as np
from gymnasium.envs.phys2d.cartpole import CartPoleFunctional, CartPoleParams
from gymnasium.envs.phys2d.pendulum import PendulumFunctional, PendulumParams

from lagomjax.envs.classic_twins import AcrobotFunctional, MountainCarContinuousFunctional, MountainCarFunctional
from lagomjax.envs.functional import FuncEnvAdapter, SelectObservation
from lagomjax.envs.registry import register


def cartpole() -> FuncEnvAdapter:
    return FuncEnvAdapter(CartPoleFunctional(), CartPoleParams(polemass_length=0.05))


def cartpole_no_velocity() -> SelectObservation:
    return SelectObservation(cartpole(), (0, 2))  # x and theta; x_dot and theta_dot hidden


def pendulum() -> FuncEnvAdapter:
    return FuncEnvAdapter(PendulumFunctional(), PendulumParams())


def _canvas(xlim, ylim, size=(240, 160)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(size[0] / 80, size[1] / 80), dpi=80)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    return plt, fig, ax


def _pixels(plt, fig) -> np.ndarray:
    fig.canvas.draw()
    frame = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return frame


def draw_cartpole(state) -> np.ndarray:
    """RGB frame of a CartPole physics state ``[x, x_dot, theta, theta_dot]``."""
    x, theta = float(np.asarray(state)[0]), float(np.asarray(state)[2])
    plt, fig, ax = _canvas((-2.6, 2.6), (-0.6, 1.6))
    ax.plot([-2.4, 2.4], [0, 0], color="k", lw=1)
    ax.add_patch(plt.Rectangle((x - 0.25, -0.08), 0.5, 0.16, color="tab:blue"))
    ax.plot([x, x + np.sin(theta)], [0, np.cos(theta)], color="tab:orange", lw=4)
    return _pixels(plt, fig)


def draw_pendulum(state) -> np.ndarray:
    """RGB frame of a Pendulum physics state ``[theta, theta_dot]``."""
    th = float(np.asarray(state)[0])
    plt, fig, ax = _canvas((-1.3, 1.3), (-1.3, 1.3))
    ax.plot([0, np.sin(th)], [0, np.cos(th)], color="tab:red", lw=6)
    ax.add_patch(plt.Circle((0, 0), 0.05, color="k"))
    return _pixels(plt, fig)


def draw_acrobot(state) -> np.ndarray:
    """RGB frame of an Acrobot state ``[theta1, theta2, ...]`` (0: hanging down)."""
    t1, t2 = float(np.asarray(state)[0]), float(np.asarray(state)[1])
    p1 = np.array([np.sin(t1), -np.cos(t1)])
    p2 = p1 + np.array([np.sin(t1 + t2), -np.cos(t1 + t2)])
    plt, fig, ax = _canvas((-2.2, 2.2), (-2.2, 2.2), size=(200, 200))
    ax.plot([-2.2, 2.2], [1, 1], color="k", lw=1)  # the height to reach
    ax.plot([0, p1[0], p2[0]], [0, p1[1], p2[1]], color="tab:cyan", lw=6, marker="o", mec="tab:olive")
    return _pixels(plt, fig)


def draw_mountain_car(state) -> np.ndarray:
    """RGB frame of a MountainCar state ``[position, velocity]``."""
    x = float(np.asarray(state)[0])
    xs = np.linspace(-1.2, 0.6, 100)
    plt, fig, ax = _canvas((-1.25, 0.65), (0.0, 1.15), size=(240, 150))
    ax.plot(xs, 0.45 * np.sin(3 * xs) + 0.55, color="k", lw=1.5)
    ax.plot([0.5, 0.5], [0.45 * np.sin(1.5) + 0.55, 0.45 * np.sin(1.5) + 0.7], color="tab:green", lw=2)
    ax.add_patch(plt.Circle((x, 0.45 * np.sin(3 * x) + 0.59), 0.04, color="tab:blue"))
    return _pixels(plt, fig)


register("CartPole-v1", cartpole, 500, render=draw_cartpole)
register("CartPoleNoVel-v1", cartpole_no_velocity, 500, render=draw_cartpole)
register("Pendulum-v1", pendulum, 200, render=draw_pendulum)
register("Acrobot-v1", AcrobotFunctional, 500, render=draw_acrobot)  # a FuncEnv registers as it is
register("MountainCar-v0", MountainCarFunctional, 200, render=draw_mountain_car)
register("MountainCarContinuous-v0", MountainCarContinuousFunctional, 999, render=draw_mountain_car)
