"""gymnasium's Acrobot-v1, MountainCar-v0 and MountainCarContinuous-v0 as gymnasium ``FuncEnv``\\s in
JAX (gymnasium ships functional versions of CartPole and Pendulum only). Each follows the NumPy
environment's equations and constants, in float32; the tests step both from the same states with
the same actions, episode ends included. Parameters are ``flax.struct`` dataclasses, so they can be
traced (and vmapped over) like any other array.
"""

from __future__ import annotations

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium.experimental.functional import FuncEnv


@struct.dataclass
class AcrobotParams:
    dt: float = 0.2  # RK4 step [s]
    link_length_1: float = 1.0
    link_mass_1: float = 1.0
    link_mass_2: float = 1.0
    link_com_pos_1: float = 0.5
    link_com_pos_2: float = 0.5
    link_moi: float = 1.0  # moment of inertia of both links
    max_vel_1: float = 4 * np.pi
    max_vel_2: float = 9 * np.pi
    gravity: float = 9.8
    init_bound: float = 0.1  # every state entry starts uniform in [-init_bound, init_bound]


def _wrap(x, low, high):
    """``x`` moved by whole periods into ``[low, high]`` (gymnasium's ``wrap``)."""
    period = high - low
    above = jnp.ceil((x - high) / period) * period
    below = jnp.ceil((low - x) / period) * period
    return jnp.where(x > high, x - above, jnp.where(x < low, x + below, x))


class AcrobotFunctional(FuncEnv):
    """Acrobot-v1 (Sutton and Barto's "book" dynamics, one RK4 step of ``dt``): state
    ``[theta1, theta2, dtheta1, dtheta2]``; actions 0, 1, 2 apply torque -1, 0, +1; reward -1 per step
    and 0 on the terminating step; terminates when the free end rises above one link length."""

    observation_space = gym.spaces.Box(
        -np.array([1, 1, 1, 1, 4 * np.pi, 9 * np.pi], np.float32),
        np.array([1, 1, 1, 1, 4 * np.pi, 9 * np.pi], np.float32),
        dtype=np.float32,
    )
    action_space = gym.spaces.Discrete(3)

    def get_default_params(self, **kwargs) -> AcrobotParams:
        return AcrobotParams(**kwargs)

    def initial(self, rng, params):
        return jax.random.uniform(rng, (4,), jnp.float32, -params.init_bound, params.init_bound)

    def _derivatives(self, s, torque, p):
        m1, m2, l1, lc1, lc2, i1, i2, g = (p.link_mass_1, p.link_mass_2, p.link_length_1, p.link_com_pos_1,
                                           p.link_com_pos_2, p.link_moi, p.link_moi, p.gravity)  # fmt: skip
        theta1, theta2, dtheta1, dtheta2 = s[0], s[1], s[2], s[3]
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * jnp.cos(theta2)) + i1 + i2
        d2 = m2 * (lc2**2 + l1 * lc2 * jnp.cos(theta2)) + i2
        phi2 = m2 * lc2 * g * jnp.cos(theta1 + theta2 - jnp.pi / 2)
        phi1 = (
            -m2 * l1 * lc2 * dtheta2**2 * jnp.sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * jnp.sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * jnp.cos(theta1 - jnp.pi / 2)
            + phi2
        )
        ddtheta2 = (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * jnp.sin(theta2) - phi2) / (
            m2 * lc2**2 + i2 - d2**2 / d1
        )
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return jnp.stack([dtheta1, dtheta2, ddtheta1, ddtheta2])

    def transition(self, state, action, rng, params):
        torque = jnp.asarray(action, jnp.float32) - 1.0  # 0, 1, 2 -> -1, 0, +1
        f, h = (lambda s: self._derivatives(s, torque, params)), params.dt
        k1 = f(state)
        k2 = f(state + h / 2 * k1)
        k3 = f(state + h / 2 * k2)
        k4 = f(state + h * k3)
        s = state + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        return jnp.stack([
            _wrap(s[0], -jnp.pi, jnp.pi),
            _wrap(s[1], -jnp.pi, jnp.pi),
            jnp.clip(s[2], -params.max_vel_1, params.max_vel_1),
            jnp.clip(s[3], -params.max_vel_2, params.max_vel_2),
        ]).astype(jnp.float32)  # fmt: skip

    def observation(self, state, rng, params):
        t1, t2 = state[0], state[1]
        return jnp.stack([jnp.cos(t1), jnp.sin(t1), jnp.cos(t2), jnp.sin(t2), state[2], state[3]])

    def terminal(self, state, rng, params):
        return -jnp.cos(state[0]) - jnp.cos(state[1] + state[0]) > 1.0

    def reward(self, state, action, next_state, rng, params):
        return jnp.where(self.terminal(next_state, rng, params), 0.0, -1.0)


@struct.dataclass
class MountainCarParams:
    min_position: float = -1.2
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.5  # 0.45 for the continuous task
    goal_velocity: float = 0.0
    force: float = 0.001  # MountainCar-v0: acceleration per unit of (action - 1)
    power: float = 0.0015  # MountainCarContinuous-v0: acceleration per unit of force
    gravity: float = 0.0025
    init_low: float = -0.6  # the start position is uniform in [init_low, init_high], velocity 0
    init_high: float = -0.4


class MountainCarFunctional(FuncEnv):
    """MountainCar-v0: state ``[position, velocity]``; actions 0, 1, 2 push left, not, right;
    reward -1 per step; terminates at the flag (``position >= goal_position`` and
    ``velocity >= goal_velocity``)."""

    observation_space = gym.spaces.Box(
        np.array([-1.2, -0.07], np.float32), np.array([0.6, 0.07], np.float32), dtype=np.float32
    )
    action_space = gym.spaces.Discrete(3)

    def get_default_params(self, **kwargs) -> MountainCarParams:
        return MountainCarParams(**kwargs)

    def initial(self, rng, params):
        position = jax.random.uniform(rng, (), jnp.float32, params.init_low, params.init_high)
        return jnp.stack([position, jnp.float32(0.0)])

    def _acceleration(self, action, params):
        return (jnp.asarray(action, jnp.float32) - 1.0) * params.force

    def transition(self, state, action, rng, params):
        position, velocity = state[0], state[1]
        velocity = velocity + self._acceleration(action, params) - params.gravity * jnp.cos(3 * position)
        velocity = jnp.clip(velocity, -params.max_speed, params.max_speed)
        position = jnp.clip(position + velocity, params.min_position, params.max_position)
        velocity = jnp.where((position == params.min_position) & (velocity < 0), 0.0, velocity)
        return jnp.stack([position, velocity]).astype(jnp.float32)

    def observation(self, state, rng, params):
        return state

    def terminal(self, state, rng, params):
        return (state[0] >= params.goal_position) & (state[1] >= params.goal_velocity)

    def reward(self, state, action, next_state, rng, params):
        return jnp.float32(-1.0)


class MountainCarContinuousFunctional(MountainCarFunctional):
    """MountainCarContinuous-v0: one force in ``[-1, 1]`` (clipped there for the physics); reward
    ``-0.1 * action**2`` per step (of the action as given) plus 100 on reaching the flag
    (``goal_position`` 0.45)."""

    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def get_default_params(self, **kwargs) -> MountainCarParams:
        return MountainCarParams(**{"goal_position": 0.45, **kwargs})

    def _acceleration(self, action, params):
        return jnp.clip(jnp.asarray(action, jnp.float32)[0], -1.0, 1.0) * params.power

    def reward(self, state, action, next_state, rng, params):
        bonus = jnp.where(self.terminal(next_state, rng, params), 100.0, 0.0)
        return bonus - 0.1 * jnp.asarray(action, jnp.float32)[0] ** 2
