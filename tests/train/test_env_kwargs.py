"""``env_kwargs``: the environment's make() arguments as a config field (RL Zoo's ``--env-kwargs``),
a YAML mapping recorded in ``run.yml`` and used by every environment the run, its evaluation, its
loaded policy and its video make: ``envs.make(env_id, **kwargs)`` for a registered functional env,
``gymnasium.make(env_id, **kwargs)`` otherwise."""

import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.algos import policies, ppo
from lagomjax.envs.registry import env_kwargs
from lagomjax.train import driver
from lagomjax.train.cli import config_from_args
from lagomjax.utils import yaml_load


def test_the_field_is_a_yaml_mapping_given_as_text_or_a_dict_and_bad_ones_are_refused():
    config = ppo.Config(env_id="FrozenLake-v1", env_kwargs={"map_name": "8x8", "is_slippery": False})
    assert config.env_kwargs == "{is_slippery: false, map_name: 8x8}"  # stored as YAML text: hashable
    assert hash(config) == hash(ppo.Config(env_id="FrozenLake-v1", env_kwargs="{map_name: 8x8, is_slippery: no}"))
    assert env_kwargs(config) == {"is_slippery": False, "map_name": "8x8"}
    assert env_kwargs(ppo.Config()) == {} and ppo.Config(env_kwargs={}).env_kwargs == ""
    assert env_kwargs(ppo.Config(env_kwargs="{gravity: -1e-3}")) == {"gravity": -0.001}  # YAML 1.2 floats
    for bad, message in [("[1, 2]", "must be a YAML mapping of names"), ("{a: ", "must be a YAML mapping such as"),
                         ("{num_envs: 3}", r"\['num_envs'\]: set by the algorithm"),
                         ("{max_episode_steps: 9}", "set by the algorithm")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            ppo.Config(env_kwargs=bad)
    flagged, _ = config_from_args(ppo.Config, ["--env", "FrozenLake-v1", "--env-kwargs", "{map_name: 8x8}"])
    assert env_kwargs(flagged) == {"map_name": "8x8"}


def test_a_bad_argument_stops_the_command_line_in_one_line_before_a_run_directory(tmp_path):
    with pytest.raises(SystemExit, match="unexpected keyword argument 'colour'"):
        driver.main(ppo, ["--env", "FrozenLake-v1", "--env-kwargs", "{colour: red}", "--log-dir", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_a_gymnasium_run_its_policy_and_its_evaluation_use_the_arguments(tmp_path):
    """FrozenLake 8x8 without slipping: 64 one-hot states (the default map has 16) in training, in the
    policy loaded in a new process and in its evaluation."""
    run = tmp_path / "run"
    driver.main(ppo, ["--env", "FrozenLake-v1", "--env-kwargs", "{map_name: 8x8, is_slippery: false}",
                      "--num-seeds", "1", "--num-envs", "2", "--num-steps", "16", "--total-steps", "64",
                      "--eval-episodes", "2", "--plot", "off", "--log-dir", str(run)])  # fmt: skip
    assert yaml_load(run / "run.yml")["config"]["env_kwargs"] == "{is_slippery: false, map_name: 8x8}"
    policy = policies.load_policy(run)
    action, _ = policy.act(np.eye(64, dtype=np.float32)[0])  # the 8x8 map's first state, one-hot
    assert action.shape == () and 0 <= int(action) < 4
    returns = policies.evaluate_run(run, episodes=2)
    assert returns.shape == (2,) and set(np.unique(returns)) <= {0.0, 1.0}


def test_functional_envs_training_and_evaluation_are_made_with_the_arguments():
    """A 6 x 6 Jumanji Snake: the training stack observes its flattened 6 x 6 x 5 grid (12 x 12 by
    default), and evaluating a policy of that run steps 6 x 6 grids."""
    pytest.importorskip("jumanji", reason='pip install "lagomjax[jumanji]"')
    from lagomjax.train.loop import make_envs

    config = ppo.Config(env_id="jumanji:Snake-v1", env_kwargs="{num_rows: 6, num_cols: 6}", num_envs=2,
                        num_steps=8, total_steps=16, eval_episodes=2)  # fmt: skip
    env, _, _ = make_envs(config)
    assert env.observation_space.shape == (6 * 6 * 5 + 1 + 4,)
    seen = []

    def act(obs, pstate):
        seen.append(obs["grid"].shape)
        return jnp.zeros(obs["grid"].shape[:1], jnp.int32), pstate

    policy = policies.Policy(act, act, None, config, config.env_id, 0)
    returns = policies.evaluate_policy(policy, episodes=2)
    assert seen == [(2, 6, 6, 5)] and returns.shape == (2,) and np.isfinite(returns).all()
