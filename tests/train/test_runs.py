"""Runs from the command line: own directories, configs that load back, Ctrl-C/SIGTERM and SIGKILL
then --resume ending bit-identical to an uninterrupted run, and the trained policy loaded, evaluated
and recorded in a new process."""

import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from PIL import Image

from lagomjax import checkpoint, vis
from lagomjax.algos import policies, ppo
from lagomjax.experiment.layout import read_csv
from lagomjax.train import runs
from lagomjax.train.cli import config_from_args
from lagomjax.train.driver import main
from lagomjax.train.seeds import run_meta

FLAGS = ["--total-steps", str(4 * 128 * 600), "--num-seeds", "2", "--hidden-sizes", "32,32"]


def _cli(*args):
    return [sys.executable, "-m", "lagomjax.train", "ppo", *args]


def _next_update(path):
    try:
        return checkpoint.load(path)["extra"]["next_update"]
    except (FileNotFoundError, ValueError):
        return -1


def _wait_for_checkpoint(proc, path, beyond, timeout=300):
    deadline = time.monotonic() + timeout
    while _next_update(path) <= beyond:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return _next_update(path)


@pytest.mark.slow
def test_interrupted_and_resumed_runs_equal_an_uninterrupted_one(tmp_path):
    # every process shares a compilation cache, as a user's runs do: only the first one compiles
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LAGOMJAX_COMPILE_CACHE": str(tmp_path / "jax_cache")}
    ref = tmp_path / "ref"
    done = subprocess.run(_cli(*FLAGS, "--log-dir", str(ref), "--checkpoint-seconds", "1000"), capture_output=True,
                          text=True, timeout=600, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = tmp_path / "run"
    ckpt = run / runs.CHECKPOINT

    proc = subprocess.Popen(_cli(*FLAGS, "--log-dir", str(run), "--checkpoint-seconds", "0"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _wait_for_checkpoint(proc, ckpt, 0)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: stop after this chunk, save, exit 130
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    stopped = _next_update(ckpt)
    assert 0 < stopped < 600 and f"--resume {run}" in out

    proc = subprocess.Popen(_cli("--resume", str(run), "--checkpoint-seconds", "0"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _wait_for_checkpoint(proc, ckpt, stopped + 24)
    proc.send_signal(signal.SIGKILL)  # no chance to save: resume from the last periodic checkpoint
    proc.communicate(timeout=60)
    assert stopped < _next_update(ckpt) < 600
    with pytest.raises(subprocess.CalledProcessError):  # a flag that contradicts the run is refused
        subprocess.run(_cli("--resume", str(run), "--lr", "0.1"), check=True, capture_output=True, timeout=300, env=env)

    done = subprocess.run(_cli("--resume", str(run)), capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    for seed in ("0", "1"):
        a, b = read_csv(ref / "0" / seed / "train_logs.csv"), read_csv(run / "0" / seed / "train_logs.csv")
        assert a.keys() == b.keys() and len(a["env_steps"]) == 600
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for x, y in zip(checkpoint.load(ref / runs.CHECKPOINT)["state"], checkpoint.load(ckpt)["state"], strict=True):
        np.testing.assert_array_equal(x, y)

    # the trained policy, loaded here (a process that did not train it), acts as the checkpoint's parameters say
    obs = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    loaded = np.asarray(policies.load_policy(run, 1).act(obs)[0])
    config = policies.read_run(run)[1]
    parts = ppo.make_parts(config)
    like = jax.eval_shape(jax.vmap(parts.init), jax.random.split(jax.random.key(0), 2))
    state, _ = checkpoint.restore(ckpt, like, run_meta(config, 2, 0))
    agent = ppo.make_agent(config, parts_env_action_space(config))
    mine, _ = agent.greedy(jax.tree.map(lambda x: x[1], state.agent), obs, ())
    np.testing.assert_array_equal(loaded, np.asarray(mine))

    # evaluate's --video is checked on the MuJoCo run below (a 500-frame CartPole GIF would add ~10 s here)
    ev = subprocess.run([sys.executable, "-m", "lagomjax.train", "evaluate", str(run), "--episodes", "8"],
                        capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert ev.returncode == 0, ev.stderr
    mean = float(ev.stdout.split("return ")[1].split(" ")[0])
    assert mean >= 150.0, ev.stdout  # 600 PPO updates learn CartPole well past a random policy's ~22
    evals = read_csv(run / "0" / "1" / "eval.csv")  # the best evaluation's parameters come out too
    best = policies.load_policy(run, 1, best=True)
    assert best.update == int(evals["update"][np.argmax(evals["eval_episode_return"])])
    # the loaded policy drives the functional env's recording (a short one)
    gif = vis.record_episode(best.env_id, best.act_unit, jax.random.key(0), tmp_path / "ep.gif", max_steps=24,
                             init_policy_state=best.init_policy_state)  # fmt: skip
    with Image.open(gif) as frames:
        assert frames.n_frames > 20


def parts_env_action_space(config):
    from lagomjax.train.loop import make_envs

    return make_envs(config)[0].action_space


def test_run_directories_are_never_mixed(tmp_path):
    record = runs.run_record("ppo", ppo.Config(), 2, 0)
    path = runs.claim_run_dir(tmp_path / "a", record)
    assert policies.read_run(path)[1] == ppo.Config()
    with pytest.raises(ValueError, match="already holds this run: continue it with --resume"):
        runs.claim_run_dir(path, record)
    with pytest.raises(ValueError, match=r"holds another run \(config\.env_id: 'CartPole-v1' -> 'Pendulum-v1'"):
        runs.claim_run_dir(path, runs.run_record("ppo", ppo.Config(env_id="Pendulum-v1"), 2, 0))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        runs.claim_run_dir(tmp_path / "b", record)
    first = runs.new_run_dir(tmp_path, "ppo", "gymnax:Breakout-MinAtar")
    second = runs.new_run_dir(tmp_path, "ppo", "gymnax:Breakout-MinAtar")
    assert first != second and first.parent == second.parent and first.parent.name == "gymnax_Breakout-MinAtar"
    assert oct(os.stat(path / runs.RUN_FILE).st_mode & 0o644) == "0o644"


def test_a_written_config_loads_back_and_flags_override_it(tmp_path, capsys):
    config = ppo.Config(env_id="Pendulum-v1", hidden_sizes=(32, 16), anneal_lr=False, lr=3e-4, lstm_size=8)
    path = runs.claim_run_dir(tmp_path / "r", runs.run_record("ppo", config, 3, 1)) / runs.RUN_FILE
    loaded, extra = config_from_args(ppo.Config, ["--config", str(path)])
    assert loaded == config
    loaded, extra = config_from_args(ppo.Config, ["--config", str(path), "--lr", "1e-3"])
    assert loaded == config.__class__(**{**config.__dict__, "lr": 1e-3}) and "lr" in extra["_given"]
    # the run's seeds come with its run.yml (as the command line's flags), unless a flag says otherwise
    flags = {"num_seeds": 8, "seed": 0}
    _, extra = config_from_args(ppo.Config, ["--config", str(path)], **flags)
    assert (extra["num_seeds"], extra["seed"]) == (3, 1)
    _, extra = config_from_args(ppo.Config, ["--config", str(path), "--num-seeds", "2"], **flags)
    assert (extra["num_seeds"], extra["seed"]) == (2, 1)
    (tmp_path / "fields.yml").write_text("lr: 3e-4\n")  # a plain mapping of fields has no seeds
    loaded, extra = config_from_args(ppo.Config, ["--config", str(tmp_path / "fields.yml")], **flags)
    assert (extra["num_seeds"], extra["seed"]) == (8, 0)
    assert loaded.lr == 3e-4  # YAML 1.1 (PyYAML's) reads 1e-4 without a dot as a string; ours a float
    (tmp_path / "bad.yml").write_text("lr: 0.1\nno_such_field: 3\n")
    with pytest.raises(SystemExit):
        config_from_args(ppo.Config, ["--config", str(tmp_path / "bad.yml")])
    assert "no_such_field" in capsys.readouterr().err


def test_a_resume_keeps_the_runs_own_settings(tmp_path, monkeypatch):
    """run.yml records the command line's settings (evaluation cadence, plot, trackers): --resume
    continues with them, not with the flags' defaults, and --config of the run.yml brings them too;
    a flag given again overrides."""
    from functools import partial

    from lagomjax.train import driver, run_seeds

    run = tmp_path / "r"
    argv = ["--total-steps", str(4 * 128 * 6), "--num-seeds", "1", "--hidden-sizes", "8", "--eval-every", "0",
            "--plot", "off", "--log-dir", str(run)]  # fmt: skip
    with monkeypatch.context() as m:
        m.setattr(driver, "run_seeds", partial(run_seeds, max_chunks=2))  # stopped after two updates
        with pytest.raises(SystemExit) as e:
            main(ppo, argv)
        assert e.value.code == 130
    assert runs.read_record(run)["settings"] == {"checkpoint_seconds": 60.0, "eval_every": 0, "plot": "off",
                                                 "tensorboard": False, "wandb": False, "wandb_mode": ""}  # fmt: skip
    metrics, _ = main(ppo, ["--resume", str(run)])
    assert metrics["episode_return"].shape == (1, 6) and "eval_episode_return" not in metrics
    assert not (run / "0" / "0" / "eval.csv").exists() and not list(run.glob("*.png"))
    main(ppo, ["--resume", str(run), "--plot", "curve.png"])
    assert (run / "curve.png").exists()
    _, extra = config_from_args(ppo.Config, ["--config", str(run / runs.RUN_FILE)], **driver._flags("ppo"))
    assert (extra["eval_every"], extra["plot"], extra["num_seeds"]) == (0, "off", 1)


def test_a_run_starts_from_another_runs_trained_state(tmp_path, monkeypatch, capsys):
    """--init-from (RL Zoo's --trained-agent): 6 updates from a 6-update run's final state end where
    one 12-update run does (constant learning rate), bit for bit, also when the new run stopped
    before its first checkpoint and was resumed; a state that does not fit is refused in one line
    naming the differences, before a directory is claimed."""
    from functools import partial

    from lagomjax.algos import dqn
    from lagomjax.train import driver, run_seeds

    flags = ["--num-seeds", "2", "--hidden-sizes", "8", "--anneal-lr", "false", "--plot", "off", "--eval-every", "0"]
    six = ["--total-steps", str(4 * 128 * 6), *flags]
    a, b, whole = tmp_path / "a", tmp_path / "b", tmp_path / "whole"
    main(ppo, [*six, "--log-dir", str(a)])
    main(ppo, ["--total-steps", str(4 * 128 * 12), *flags, "--log-dir", str(whole)])
    with monkeypatch.context() as m:
        m.setattr(driver, "run_seeds", partial(run_seeds, max_chunks=0))  # stopped before any checkpoint
        with pytest.raises(SystemExit):
            main(ppo, [*six, "--init-from", str(a), "--log-dir", str(b)])
    assert not (b / runs.CHECKPOINT).exists() and runs.read_record(b)["init_from"] == str(a.resolve())
    main(ppo, ["--resume", str(b)])
    assert f"starting from {a} at its update 6" in capsys.readouterr().out
    _, extra = config_from_args(ppo.Config, ["--config", str(b / runs.RUN_FILE)], **driver._flags("ppo"))
    assert extra["init_from"] == str(a.resolve())  # a variant of the run (--config) starts where it did
    ends = [checkpoint.load(path / runs.CHECKPOINT)["state"] for path in (whole, b)]
    for x, y in zip(*ends, strict=True):
        np.testing.assert_array_equal(x, y)

    refused = [
        (dqn, ["--init-from", str(a)], "that run is ppo, not dqn"),
        (ppo, [*six, "--num-seeds", "3", "--init-from", str(a)], "that run has 2 seeds, this one 3"),
        (ppo, [*six, "--hidden-sizes", "16", "--init-from", str(a)],
         r"\['MLP_0'\]\['Dense_0'\]\['bias'\]: \(2, 8\) float32, here \(2, 16\) float32.*configs differ in "
         r"hidden_sizes: \[8\] -> \[16\]"),
        (ppo, [*six, "--anneal-lr", "true", "--init-from", str(a)], "another structure.*anneal_lr: False -> True"),
        (ppo, [*six, "--env", "FrozenLake-v1", "--init-from", str(a)], "env_id: 'CartPole-v1' -> 'FrozenLake-v1'"),
        (ppo, ["--init-from", str(tmp_path)], "is not a run directory"),
    ]  # fmt: skip
    for algo, argv, message in refused:
        with pytest.raises(SystemExit, match=message):
            main(algo, [*argv, "--log-dir", str(tmp_path / "new")])
        assert not (tmp_path / "new").exists()


def test_a_gymnasium_path_run_starts_from_another_runs_trained_agents(tmp_path, monkeypatch):
    """--init-from on the gymnasium path: each seed's agent state (from its gym_seed_<i>.ckpt) is
    where that seed of the new run starts, also across a resume."""
    from lagomjax.train import gym_loop

    flags = ["--env", "FrozenLake-v1", "--num-envs", "2", "--num-steps", "16", "--total-steps", str(2 * 16 * 3),
             "--num-seeds", "2", "--eval-episodes", "2", "--anneal-lr", "false", "--plot", "off"]  # fmt: skip
    a, b = tmp_path / "a", tmp_path / "b"
    main(ppo, [*flags, "--log-dir", str(a)])
    real = gym_loop.run_seeds_gym
    with monkeypatch.context() as m:  # stopped before its first update: seed 0 saves its starting state
        m.setattr(gym_loop, "run_seeds_gym", lambda *args, **kw: real(*args, **{**kw, "should_stop": lambda: True}))
        with pytest.raises(SystemExit):
            main(ppo, [*flags, "--init-from", str(a), "--log-dir", str(b)])
    start, trained = (checkpoint.load(run / "gym_seed_0.ckpt")["state"][:-1] for run in (b, a))  # less the key
    for x, y in zip(start, trained, strict=True):
        np.testing.assert_array_equal(x, y)
    metrics, _ = main(ppo, ["--resume", str(b)])  # seed 1 had saved nothing: it starts from a's seed 1
    assert metrics["env_steps"].shape == (2, 3)
    with pytest.raises(SystemExit, match="that run has 2 seeds, this one 1"):
        main(ppo, [*flags, "--num-seeds", "1", "--init-from", str(a), "--log-dir", str(tmp_path / "c")])


def test_a_loaded_policy_samples_as_it_explored_in_training(tmp_path, capsys):
    """stochastic=True (evaluate --stochastic, RL Zoo's enjoy --stochastic): the agent's own act,
    every environment with its own key stream carried in the policy state; greedy otherwise.
    evaluate --seed-index all: every seed's policy, then the mean over seeds."""
    from lagomjax.train.__main__ import main as entry

    run = tmp_path / "run"
    main(ppo, ["--total-steps", str(4 * 128 * 2), "--num-seeds", "2", "--hidden-sizes", "8", "--plot", "off",
               "--log-dir", str(run)])  # fmt: skip
    policy = policies.load_policy(run, 1, stochastic=True, sample_key=5)
    obs = np.repeat(np.random.default_rng(0).normal(size=(1, 4)).astype(np.float32), 512, axis=0)
    first, pstate = policy.act(obs)
    second, _ = policy.act(obs, pstate)

    state, _ = policies.load_train_state(run)
    agent = ppo.make_agent(policy.config, parts_env_action_space(policy.config))
    one = jax.tree.map(lambda x: x[1], state.agent)
    keys = jax.random.split(jax.random.key(5), 512)
    want = [agent.act(one, jax.random.split(k)[1], obs[:1], ())[0][0] for k in keys[:8]]
    np.testing.assert_array_equal(np.asarray(first[:8]), np.asarray(want))
    greedy = np.asarray(policies.load_policy(run, 1).act(obs)[0])
    assert 0 < np.mean(first != greedy) < 0.6 and np.mean(first != second) > 0  # sampled (greedy: the likelier one)
    out = entry(["evaluate", str(run), "--episodes", "4", "--stochastic", "--key", "2"])
    assert "over 4 stochastic episodes" in capsys.readouterr().out
    np.testing.assert_array_equal(out["returns"], policies.evaluate_run(run, episodes=4, key=2, stochastic=True))
    every = entry(["evaluate", str(run), "--seed-index", "all", "--episodes", "3"])["returns"]  # each seed, then all
    np.testing.assert_array_equal(every, [policies.evaluate_run(run, 3, seed_index=i) for i in range(2)])
    assert f"{run}, 2 seeds: return {every.mean(axis=1).mean():.1f} +- " in capsys.readouterr().out


def test_restarted_schedules_keep_what_was_learnt():
    """A run started from another's state anneals over its own updates: optax's schedule counters
    go back to 0, Adam's bias-correction count and moments stay."""
    import optax

    from lagomjax.train.seeds import restart_schedules

    opt = optax.adam(optax.linear_schedule(1.0, 0.0, 10))
    params = {"w": np.ones(3, np.float32)}
    state = opt.init(params)
    for _ in range(3):
        _, state = opt.update(params, state, params)
    adam, schedule = restart_schedules(state)
    assert int(schedule.count) == 0 and int(adam.count) == 3
    np.testing.assert_array_equal(adam.mu["w"], state[0].mu["w"])


def test_help_shows_meaning_type_default_and_choices(capsys):
    with pytest.raises(SystemExit):
        config_from_args(ppo.Config, ["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Adam learning rate" in text and "(float, default: 0.001)" in text
    assert "one of relu, tanh, elu, gelu, silu" in text and "--config FILE" in text


@pytest.mark.slow
def test_best_evaluated_parameters_are_kept_per_seed_and_survive_a_resume(tmp_path):
    from lagomjax.train import run_seeds

    config = ppo.Config(total_steps=4 * 128 * 12, hidden_sizes=(32, 32), eval_episodes=4)
    parts = ppo.make_parts(config)

    def go(path, max_chunks=None):
        return run_seeds(parts, config, 3, seed=0, progress=False, eval_every=2, checkpoint=path / "c.ckpt",
                         best_checkpoint=path / "b.ckpt", max_chunks=max_chunks)  # fmt: skip

    _, m, _ = go(tmp_path / "a")
    ev = m["eval_episode_return"]
    at = np.flatnonzero(np.isfinite(ev[0]))
    np.testing.assert_array_equal(at, [1, 3, 5, 7, 9, 11])
    saved = checkpoint.load(tmp_path / "a" / "b.ckpt")["extra"]
    np.testing.assert_array_equal(saved["returns"], ev[:, at].max(axis=1))
    np.testing.assert_array_equal(saved["updates"], at[np.argmax(ev[:, at], axis=1)])
    like = jax.eval_shape(jax.vmap(parts.init), jax.random.split(jax.random.key(0), 3))
    best, _ = checkpoint.restore(tmp_path / "a" / "b.ckpt", like, run_meta(config, 3, 0))
    again = jax.jit(jax.vmap(parts.finish))(best, jax.random.split(jax.random.key(0), 3))
    np.testing.assert_array_equal(np.asarray(again), saved["returns"])  # the kept state scores its best

    go(tmp_path / "b", max_chunks=4)
    go(tmp_path / "b")
    # a resume may change the evaluation cadence: updates without evaluation hold NaN
    run_seeds(parts, config, 3, progress=False, eval_every=2, checkpoint=tmp_path / "c.ckpt", max_chunks=4)
    _, m, _ = run_seeds(parts, config, 3, progress=False, checkpoint=tmp_path / "c.ckpt")
    np.testing.assert_array_equal(np.flatnonzero(np.isfinite(m["eval_episode_return"][0])), [1, 3])
    for x, y in zip(checkpoint.load(tmp_path / "a" / "b.ckpt")["state"],
                    checkpoint.load(tmp_path / "b" / "b.ckpt")["state"], strict=True):  # fmt: skip
        np.testing.assert_array_equal(x, y)


def test_an_off_policy_best_checkpoint_leaves_the_replay_buffer_out(tmp_path):
    """best.ckpt holds what a policy needs, not the replay buffer (which checkpoint.ckpt keeps for
    resuming): a DQN run's is a sliver of its checkpoint, its states score the recorded returns,
    load_policy acts from it, and a best.ckpt of the older kind (the whole state) still loads."""
    from lagomjax.algos import dqn
    from lagomjax.train.__main__ import main as cli_main
    from lagomjax.train.seeds import restore_best, without_replay

    run = tmp_path / "run"
    cli_main(["dqn", "--env", "CartPole-v1", "--total-steps", "4096", "--num-steps", "16", "--gradient-steps", "4",
              "--learning-starts", "256", "--buffer-size", "20000", "--hidden-sizes", "16", "--num-seeds", "2",
              "--eval-every", "16", "--log-dir", str(run), "--plot", "off"])  # fmt: skip
    best_file, full_file = run / runs.BEST, run / runs.CHECKPOINT
    assert best_file.stat().st_size * 50 < full_file.stat().st_size  # 20,000 transitions x 2 seeds left out
    _, config, _ = policies.read_run(run)
    parts, meta = dqn.make_parts(config), run_meta(config, 2, 0)
    keys = jax.random.split(jax.random.key(0), 2)
    like = jax.eval_shape(jax.vmap(parts.init), keys)
    best, extra = restore_best(best_file, like, meta)
    assert best.agent.buffer is None and best.agent.learner is not None
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(parts.finish))(best, keys)), extra["returns"])
    policy = policies.load_policy(run, 1, best=True)
    assert policy.update == extra["updates"][1] and policy.act(np.zeros(4, np.float32))[0] in (0, 1)

    full, _ = checkpoint.restore(full_file, like, meta)  # an older best.ckpt: the whole state
    checkpoint.save(best_file, full, meta, returns=extra["returns"], updates=extra["updates"])
    old, _ = restore_best(best_file, like, meta)
    for x, y in zip(checkpoint.to_host(old), checkpoint.to_host(without_replay(full)), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.slow
def test_a_gymnasium_path_mujoco_run_gives_its_policy_and_an_mp4(tmp_path):
    """A MuJoCo env (no functional twin) trains on the gymnasium path; its policy loads from the
    seed's checkpoint (its best evaluation's from gym_seed_<i>.best.ckpt), acts in the env's own
    bounds, evaluates, and records an mp4 through rgb_array."""
    pytest.importorskip("mujoco", reason="the mujoco extra is not installed")
    pytest.importorskip("imageio_ffmpeg", reason="the video extra is not installed")
    import imageio.v3 as iio

    from lagomjax.algos import sac
    from lagomjax.train import gym_loop

    run = tmp_path / "run"
    main(sac, ["--env", "InvertedPendulum-v5", "--num-seeds", "1", "--total-steps", "300", "--learning-starts", "100",
               "--eval-episodes", "2", "--hidden-sizes", "16,16", "--log-dir", str(run)])  # fmt: skip
    assert (run / "gym_seed_0.ckpt").exists() and not (run / runs.BEST).exists()
    policy = policies.load_policy(run)
    assert policy.update == policy.config.num_updates
    config = policy.config
    agent, like, k_act, meta = gym_loop.init_agent(config, sac.make_agent, jax.random.split(jax.random.key(0), 1)[0],
                                                   *_spaces("InvertedPendulum-v5"))  # fmt: skip
    (state, _), _ = checkpoint.restore(run / "gym_seed_0.ckpt", (like, k_act), meta)
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    unit, _ = agent.greedy(state, obs, ())
    np.testing.assert_allclose(policy.act_unit(obs)[0], unit, rtol=1e-6)
    np.testing.assert_allclose(policy.act(obs)[0], 3.0 * np.clip(unit, -1, 1), rtol=1e-5)  # InvertedPendulum: [-3, 3]
    best = policies.load_policy(run, best=True)  # the best periodic evaluation's state, less the replay buffer
    evals = read_csv(run / "0" / "0" / "eval.csv")
    assert best.update == int(evals["update"][np.argmax(evals["eval_episode_return"])])
    assert (run / "gym_seed_0.best.ckpt").stat().st_size < (run / "gym_seed_0.ckpt").stat().st_size / 2

    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    video = tmp_path / "pendulum.mp4"
    ev = subprocess.run([sys.executable, "-m", "lagomjax.train", "evaluate", str(run), "--episodes", "2",
                         "--video", str(video), "--key", "3"], capture_output=True, text=True, timeout=300,
                        env=env)  # fmt: skip
    assert ev.returncode == 0, ev.stderr
    returns = policies.evaluate_run(run, episodes=2, key=3)
    assert f"return {returns.mean():.1f}" in ev.stdout
    frames = iio.imread(video, plugin="pyav") if _has("av") else np.stack(list(iio.imiter(video)))
    assert frames.ndim == 4 and frames.shape[-1] == 3 and frames.std() > 1.0  # a rendered scene, not blank
    from lagomjax.envs.gym_wrappers import play_episode

    seed = int(jax.random.randint(jax.random.key(3), (), 0, 2**31 - 1))  # as record_episode seeds the env
    _, length, _ = play_episode("InvertedPendulum-v5", policy.act_unit, seed)
    assert len(frames) == length + 1  # the first frame after reset, then one per step


def _spaces(env_id):
    import gymnasium as gym

    env = gym.make(env_id)
    spaces = env.observation_space, env.action_space
    env.close()
    return spaces


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None
