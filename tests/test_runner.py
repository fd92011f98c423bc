import gymnasium as gym
import numpy as np
import pytest

from lagomjax.agent import BaseAgent, RandomAgent
from lagomjax.data import StepType
from lagomjax.envs import NormalizeObservation, NormalizeReward, RecordEpisodeStatistics, TimeStepEnv
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
        assert (env.episode_return, env.episode_horizon) == (total, steps)  # lagom's running statistics
    assert info["episode"]["return"] == total and info["episode"]["horizon"] == steps
    assert (env.episode_return, env.episode_horizon) == (0.0, 0)  # restarted for the next episode
    assert list(env.return_queue) == [total]

    env = NormalizeReward(gym.make("CartPole-v1"), gamma=0.5)
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

    env = NormalizeObservation(gym.make("CartPole-v1"))
    obs, _ = env.reset(seed=0)
    assert env.obs_moments.n == 1  # one observation seen (an int, as lagom)
    frozen = NormalizeObservation(gym.make("CartPole-v1"), constant_moments=(np.ones(4), 4 * np.ones(4)))
    o, _ = frozen.reset(seed=0)
    raw, _ = gym.make("CartPole-v1").reset(seed=0)
    np.testing.assert_allclose(o, (raw - 1) / 2, rtol=1e-5)


def test_trajectory_is_a_sequence_of_timesteps_with_transitions():
    env = make_env(max_steps=6)
    traj = EpisodeRunner()(RandomAgent({}, env), env, 1)[0]
    assert len(traj) == traj.T + 1 and traj[0].first() and traj[-1].last()
    assert [t.observation.tolist() for t in traj] == traj.observations.tolist()
    assert len(traj[1:3]) == 2 and traj[1:3][0] is traj[1]
    tr = traj.transitions
    assert len(tr) == traj.T
    obs, action, next_obs, reward, done = tr[-1]
    np.testing.assert_array_equal(obs, traj.observations[-2])
    np.testing.assert_array_equal(next_obs, traj.observations[-1])
    assert action == traj.actions[-1] and reward == traj.rewards[-1] and done is True
    with pytest.raises(ValueError, match="needs the action"):
        from lagomjax.data import TimeStep, Trajectory

        fresh = Trajectory()
        fresh.add(TimeStep(StepType.FIRST, obs, None, None, {}), None)
        fresh.add(TimeStep(StepType.MID, obs, 1.0, False, {}), None)


def test_random_agent_takes_raw_observations_and_runner_exposes_observation():
    env = make_env()
    agent = RandomAgent({}, env)
    assert env.action_space.contains(agent.choose_action(env.reset(seed=0).observation)["raw_action"])
    runner = StepRunner(reset_on_call=False)
    assert runner.observation is None
    D = runner(agent, env, 5)
    if not D[-1].finished:
        np.testing.assert_array_equal(runner.observation, D[-1].observations[-1])
    assert StepRunner(reset_on_call=True).observation is None
    # the bootstrap call at a trajectory end keeps the agent's whole output, raw_action included
    assert "raw_action" in D[-1].extra_info["last_info"]


def test_timestep_env_passes_info_and_marks_only_truncations():
    """lagom's behaviour: the env's info unchanged, plus ``TimeLimit.truncated`` on the step that
    truncates, so ``get_infos`` has one entry per truncated episode."""
    env = make_env(max_steps=12)
    t = env.reset(seed=0)
    assert t.step_type == StepType.FIRST
    D = EpisodeRunner()(RandomAgent({}, env), env, 20)
    truncated = [traj for traj in D if traj.reach_time_limit]
    terminated = [traj for traj in D if traj.reach_terminal]
    assert truncated and terminated and len(truncated) + len(terminated) == 20
    for traj in D:
        marks = traj.get_infos("TimeLimit.truncated")
        assert marks == ([True] if traj.reach_time_limit else [])
        assert all(info == {} for info in traj.infos[:-1])  # CartPole's own info is empty
        assert traj.T == 12 or traj.reach_terminal


def test_each_kind_of_wrapper_refuses_the_other_kind_of_env():
    from lagomjax import envs

    functional_env = envs.make("CartPole-v1")
    hints = {
        NormalizeObservation: "normalize_obs=True",
        NormalizeReward: "normalize_reward=True",
        RecordEpisodeStatistics: "functional.EpisodeStatistics",
        TimeStepEnv: "terminated and truncated apart",
    }
    for wrapper, hint in hints.items():
        with pytest.raises(TypeError, match=f"lagom's gymnasium wrapper, got a functional .*{hint}"):
            wrapper(functional_env)
    with pytest.raises(TypeError, match="functional .JAX. wrapper .* use lagom's wrapper"):
        envs.functional.NormalizeObservation(gym.make("CartPole-v1"))
    with pytest.raises(TypeError, match="needs a lagomjax JaxEnv, got int"):
        envs.TimeLimit(3, 10)
