import numpy as np
import pytest

from lagomjax.data import StepType, TimeStep, Trajectory


def ts(step_type, obs, reward=None, done=None, **info):
    return TimeStep(step_type, np.array([obs]), reward, done, info)


def test_step_type_values_and_timestep_predicates():
    assert (StepType.FIRST, StepType.MID, StepType.LAST) == (0, 1, 2)
    first, mid = ts(StepType.FIRST, 0), ts(StepType.MID, 1, 1.0, False)
    terminal = ts(StepType.LAST, 2, 1.0, True, **{"TimeLimit.truncated": False})
    limit = ts(StepType.LAST, 2, 1.0, True, **{"TimeLimit.truncated": True})
    assert first.first() and not first.mid() and not first.last()
    assert mid.mid() and not mid.terminal() and not mid.time_limit()
    assert terminal.terminal() and not terminal.time_limit()
    assert limit.time_limit() and not limit.terminal()


def test_trajectory():
    traj = Trajectory()
    traj.add(ts(StepType.FIRST, 0), None)
    traj.add(ts(StepType.MID, 1, 1.0, False, v=0.1), 10)
    traj.add(ts(StepType.LAST, 2, 2.0, True, v=0.2, **{"TimeLimit.truncated": True}), 11)
    assert traj.T == 2 and traj.finished and traj.reach_time_limit and not traj.reach_terminal
    assert traj.observations.shape == (3, 1) and traj.observations[-1, 0] == 2
    assert traj.actions.tolist() == [10, 11] and traj.rewards.tolist() == [1.0, 2.0]
    assert traj.dones.tolist() == [False, True] and traj.get_infos("v") == [0.1, 0.2]
    with pytest.raises(ValueError, match="finished"):
        traj.add(ts(StepType.MID, 3, 0.0, False), 12)
    with pytest.raises(ValueError, match="FIRST"):
        Trajectory().add(ts(StepType.MID, 0, 0.0, False), 0)
    t2 = Trajectory()
    t2.add(ts(StepType.FIRST, 0), None)
    with pytest.raises(ValueError, match="only the first"):
        t2.add(ts(StepType.FIRST, 0), None)
