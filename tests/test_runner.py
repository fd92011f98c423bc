import gymnasium as gym
import numpy as np
import pytest

from lagomjax.agent import BaseAgent, RandomAgent
from lagomjax.data import StepType
from lagomjax.envs import GymNormalizeObservation, GymNormalizeReward, RecordEpisodeStatistics, TimeStepEnv
from lagomjax.runner import EpisodeRunner, StepRunner


class ValueAgent(BaseAgent):
    """Random actions; reports a 'value' (the sum of the observation) as an extra output."""

    def choose_action(self, x, **kwargs):
        obs = x.observation if hasattr(x, "observation") else x
        batched = np.ndim(obs) == 2
        action = self.env.action_space.sample()
        return {"raw_action": action, "value": obs.sum(-1) if batched else float(np.sum(obs))}

    def learn(self, D, **kwargs):
        return {}


def make_env(max_steps=None, seed=0):
    env = gym.make("CartPole-v1", max_episode_steps=max_steps) if max_steps else gym.make("CartPole-v1")
    env = TimeStepEnv(env)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def test_episode_runner_returns_n_finished_episodes_with_lagom_structure():
    env = make_env(max_steps=15)
    D = EpisodeRunner()(ValueAgent({}, env), env, 6)
    assert len(D) == 6
    for traj in D:
        assert traj.finished and traj.timesteps[0].first() and traj.timesteps[-1].last()
        assert all(t.mid() for t in traj.timesteps[1:-1])
        assert traj.reach_terminal != traj.reach_time_limit
        # the agent's extras of step t land in the info of step t + 1
        np.testing.assert_allclose(traj.get_infos("value")[0], traj.observations[0].sum(), rtol=1e-6)
        # bootstrap info on the true last observation
        np.testing.assert_allclose(traj.extra_info["last_info"]["value"], traj.observations[-1].sum(), rtol=1e-6)
    assert any(t.reach_time_limit for t in D) and any(t.reach_terminal for t in D)


def test_step_runner_returns_exactly_T_steps_and_can_continue():
    env = make_env()
    runner = StepRunner(reset_on_call=False)
    agent = ValueAgent({}, env)
    D1 = runner(agent, env, 100)
    assert sum(traj.T for traj in D1) == 100
    assert all(traj.finished for traj in D1[:-1])
    last = D1[-1]
    D2 = runner(agent, env, 30)
    assert sum(traj.T for traj in D2) == 30
    if not last.finished:  # the same episode continues from where it stopped
        assert D2[0].timesteps[0].info.get("continued")
        np.testing.assert_array_equal(D2[0].observations[0], last.observations[-1])
    D3 = StepRunner(reset_on_call=True)(agent, env, 10)
    assert "continued" not in D3[0].timesteps[0].info


def test_runners_on_gymnasium_vector_envs():
    venv = gym.make_vec(
        "CartPole-v1",
        num_envs=3,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
    )
    venv.action_space.seed(0)
    agent = ValueAgent({}, venv)
    D = StepRunner()(agent, venv, 40)
    assert sum(traj.T for traj in D) == 3 * 40
    for traj in D:
        assert traj.timesteps[0].first()
        if traj.finished:  # the last observation is the true final one, not the reset one
            assert traj.reach_terminal
            assert abs(traj.observations[-1][2]) > 0.2 or abs(traj.observations[-1][0]) > 2.4
        np.testing.assert_allclose(traj.extra_info["last_info"]["value"], traj.observations[-1].sum(), rtol=1e-5)
    episodes = EpisodeRunner()(agent, venv, 4)
    assert len(episodes) == 4 and all(t.finished for t in episodes)
    with pytest.raises(ValueError, match="SAME_STEP"):
        StepRunner()(agent, gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync"), 5)


def test_runner_requires_timestep_env():
    with pytest.raises(TypeError, match="TimeStepEnv"):
        EpisodeRunner()(RandomAgent({}, gym.make("CartPole-v1")), gym.make("CartPole-v1"), 1)


def test_gym_wrappers():
    env = RecordEpisodeStatistics(gym.make("CartPole-v1"))
    env.reset(seed=0)
    env.action_space.seed(0)
    total, steps = 0.0, 0
    while True:
        _, r, term, trunc, info = env.step(env.action_space.sample())
        total, steps = total + r, steps + 1
        if term or trunc:
            break
    assert info["episode"]["return"] == total and info["episode"]["horizon"] == steps
    assert list(env.return_queue) == [total]

    env = GymNormalizeReward(gym.make("CartPole-v1"), gamma=0.5)
    env.reset(seed=0)
    G, rms = 0.0, []
    for _ in range(5):
        _, r, term, trunc, info = env.step(0)
        G = info["raw_reward"] + 0.5 * G
        rms.append(G)
        if term or trunc:
            G = 0.0
            assert env.all_returns == 0.0
            break
    np.testing.assert_allclose(env.reward_moments.mean, np.mean(rms), rtol=1e-3)
    assert r > 0  # scaled by a std, never shifted by a mean

    env = GymNormalizeObservation(gym.make("CartPole-v1"))
    obs, _ = env.reset(seed=0)
    assert env.obs_moments.n > 1
    frozen = GymNormalizeObservation(gym.make("CartPole-v1"), constant_moments=(np.ones(4), 4 * np.ones(4)))
    o, _ = frozen.reset(seed=0)
    raw, _ = gym.make("CartPole-v1").reset(seed=0)
    np.testing.assert_allclose(o, (raw - 1) / 2, rtol=1e-5)


def test_timestep_env_keeps_flags_apart():
    env = make_env(max_steps=5)
    t = env.reset(seed=0)
    assert t.step_type == StepType.FIRST
    while not t.last():
        t = env.step(0)
    assert t.info["truncated"] or t.info["terminated"]
    assert t.info["TimeLimit.truncated"] == (t.info["truncated"] and not t.info["terminated"])
