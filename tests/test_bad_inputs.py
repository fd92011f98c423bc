"""Bad inputs across the public API and the command line, generated programmatically: each must raise
``TypeError``/``ValueError`` whose message names the offending argument, before anything compiles
(never a JAX trace from deep inside, never a silently wrong number)."""

from __future__ import annotations

import dataclasses
import inspect
import math

import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import checkpoint, envs, es, losses, metric, replay
from lagomjax.algos import ddpg, dqn, es_policy, ppo, sac, td3, vpg
from lagomjax.experiment import Config, run_experiment
from lagomjax.train.cli import config_from_args

T, B = 5, 3
SHAPE = (T, B)
GOOD = {
    "gamma": 0.9,
    "lam": 0.95,
    "clip_rho": 1.0,
    "clip_pg_rho": 1.0,
    "last_V": np.zeros(B),
    "reach_terminal": np.zeros(B, bool),
    "terminated": np.zeros(SHAPE, bool),
    "truncated": np.zeros(SHAPE, bool),
}
FLOAT_ARGS = {"rewards", "Rs", "Vs", "next_Vs", "behavior_logprobs", "target_logprobs", "last_V"}
BOOL_ARGS = {"reach_terminal", "terminated", "truncated"}
UNIT_ARGS = {"gamma", "lam"}
CLIP_ARGS = {"clip_rho", "clip_pg_rho"}

BAD_FLOATS = [
    ("a string", "abc", TypeError),
    ("None", None, TypeError),
    ("complex", np.ones(SHAPE) * 1j, TypeError),
    ("ragged", [[1.0, 2.0], [1.0]], TypeError),
    ("wrong shape", np.ones((T + 1, B)), ValueError),
]
BAD_FLAGS = [
    ("0.5", lambda shape: np.full(shape, 0.5), ValueError),
    ("2", lambda shape: np.full(shape, 2), ValueError),
    ("a string", lambda shape: "yes", TypeError),
    ("complex", lambda shape: np.ones(shape) * 1j, TypeError),
    ("wrong shape", lambda shape: np.zeros((7,) + shape, bool), ValueError),
]
BAD_UNIT = [
    ("-0.1", -0.1, ValueError),
    ("1.5", 1.5, ValueError),
    ("nan", math.nan, ValueError),
    ("an array with 2", np.array([0.5, 2.0]), ValueError),
    ("a string", "0.9", TypeError),
    ("complex", 0.9j, TypeError),
]
BAD_CLIP = [("-1", -1.0, ValueError), ("nan", math.nan, ValueError), ("a string", "1", TypeError)]

METRICS = [
    metric.returns,
    metric.bootstrapped_returns,
    metric.td0_target,
    metric.td0_error,
    metric.gae,
    metric.vtrace,
    metric.returns_rollout,
    metric.bootstrapped_returns_rollout,
    metric.td0_target_rollout,
    metric.td0_error_rollout,
    metric.gae_rollout,
    metric.vtrace_rollout,
    losses.vtrace_loss,
]


def _good(name):
    if name in GOOD:
        return GOOD[name]
    return np.full(B, 0.5) if name == "last_V" else np.linspace(-1.0, 1.0, T * B).reshape(SHAPE)


def _renamed(name):  # losses.vtrace_loss names values/next_values what metric calls Vs/next_Vs
    return {"values": "Vs", "next_values": "next_Vs"}.get(name, name)


def _metric_cases():
    for fn in METRICS:
        params = list(inspect.signature(fn).parameters)
        for p in params:
            role = _renamed(p)
            if role in FLOAT_ARGS:
                bad = [(label, v, exc) for label, v, exc in BAD_FLOATS]
                if role == "last_V":
                    bad[-1] = ("wrong shape", np.ones(B + 2), ValueError)
                elif role in ("rewards", "Rs"):  # the reference shape: only its rank can be wrong
                    bad[-1] = ("rank 0", 1.0, ValueError)
            elif role in BOOL_ARGS:
                shape = (B,) if role == "reach_terminal" else SHAPE
                bad = [(label, make(shape), exc) for label, make, exc in BAD_FLAGS]
            elif role in UNIT_ARGS:
                bad = BAD_UNIT
            elif role in CLIP_ARGS:
                bad = BAD_CLIP
            else:
                raise AssertionError(f"no bad values for {fn.__name__}({p})")
            for label, value, exc in bad:
                yield pytest.param(fn, params, p, value, exc, id=f"{fn.__name__}-{p}-{label}")


@pytest.mark.parametrize(("fn", "params", "arg", "value", "exc"), list(_metric_cases()))
def test_metric_and_loss_arguments(fn, params, arg, value, exc):
    kwargs = {p: _good(_renamed(p)) for p in params}
    fn(**kwargs)  # the good call works
    kwargs[arg] = value
    with pytest.raises(exc, match=arg):
        fn(**kwargs)


LOSS_CASES = [
    (losses.policy_gradient_loss, {"logp": np.zeros(4), "advantages": np.zeros(4)}),
    (losses.clipped_surrogate_loss, {"logp": np.zeros(4), "old_logp": np.zeros(4), "advantages": np.zeros(4),
                                     "clip_eps": 0.2}),
    (losses.value_loss, {"values": np.zeros(4), "targets": np.zeros(4), "old_values": np.zeros(4), "clip_eps": 0.2}),
    (losses.normalize, {"x": np.arange(4.0), "eps": 1e-8}),
]  # fmt: skip


def _loss_cases():
    for fn, good in LOSS_CASES:
        for arg in good:
            if arg in ("clip_eps", "eps"):
                bad = [("0", 0.0, ValueError), ("-1", -1.0, ValueError), ("a string", "x", TypeError)]
            else:
                bad = [("a string", "x", TypeError), ("complex", np.ones(4) * 1j, TypeError)]
                if arg != next(iter(good)):  # shapes are checked against the first argument
                    bad += [("[4, 1] against [4]", np.zeros((4, 1)), ValueError)]
            for label, value, exc in bad:
                yield pytest.param(fn, good, arg, value, exc, id=f"{fn.__name__}-{arg}-{label}")


@pytest.mark.parametrize(("fn", "good", "arg", "value", "exc"), list(_loss_cases()))
def test_loss_arguments(fn, good, arg, value, exc):
    fn(**good)
    with pytest.raises(exc, match=arg):
        fn(**{**good, arg: value})


ALGOS = [ppo, vpg, dqn, ddpg, td3, sac, es_policy]


def _bad_field_values(f, value):
    """Bad values for a config field by the type of its default (and its allowed range)."""
    if isinstance(value, bool):
        return [("on", "on", TypeError), ("1", 1, TypeError), ("None", None, TypeError)]
    if isinstance(value, int):
        out = [("1.5", 1.5, TypeError), ("'3'", "3", TypeError), ("True", True, TypeError)]
        if f.name not in ("target_entropy",):
            out.append(("-1", -1, ValueError))
        return out
    if isinstance(value, float):
        out = [("nan", math.nan, ValueError), ("inf", math.inf, ValueError), ("'0.1'", "0.1", TypeError)]
        if f.name not in ("target_entropy",):
            out.append(("-1", -1.0, ValueError))
        return out
    if isinstance(value, str):
        out = [("3", 3, TypeError)]
        if f.name in ("activation", "strategy"):
            out.append(("nonsense", "nonsense", ValueError))
        return out
    if isinstance(value, tuple):
        return [("(0,)", (0,), ValueError), ("a list", [64], ValueError), ("(64.0,)", (64.0,), ValueError)]
    raise AssertionError(f"no bad values for {f.name}")


def _config_cases():
    for module in ALGOS:
        for f in dataclasses.fields(module.Config):
            for label, value, exc in _bad_field_values(f, f.default):
                if f.name in ("sigma0",) and module is es_policy and label == "-1":
                    exc = ValueError
                yield pytest.param(module, f.name, value, exc, id=f"{module.NAME}-{f.name}-{label}")
    zero = ["num_envs", "num_steps", "total_steps", "eval_episodes", "update_epochs", "num_minibatches"]
    for name in zero:
        yield pytest.param(ppo, name, 0, ValueError, id=f"PPO-{name}-0")


@pytest.mark.parametrize(("module", "field", "value", "exc"), list(_config_cases()))
def test_config_fields(module, field, value, exc):
    with pytest.raises(exc, match=field):
        module.Config(**{field: value})


def test_config_combinations_name_both_fields():
    with pytest.raises(ValueError, match=r"num_minibatches=3"):
        ppo.Config(num_envs=4, num_steps=128, num_minibatches=3)
    with pytest.raises(ValueError, match="total_steps"):
        ppo.Config(total_steps=100)
    with pytest.raises(ValueError, match="buffer_size"):
        sac.Config(buffer_size=0)
    with pytest.raises(ValueError, match=r"reset_pool=5 must be at most num_envs=4"):
        ppo.Config(num_envs=4, reset_pool=5)


CLI_CASES = [
    (["--anneal-lr", "maybe"], "anneal-lr"),
    (["--anneal-lr", "on", "--num-envs", "0"], "num_envs"),
    (["--activation", "gelu2"], "activation"),
    (["--gamma", "2"], "gamma"),
    (["--gamma", "nan"], "gamma"),
    (["--lr", "-1e-3"], "lr"),
    (["--hidden-sizes", "64,x"], "hidden-sizes"),
    (["--hidden-sizes", "64,0"], "hidden_sizes"),
    (["--num-minibatches", "3"], "num_minibatches"),
    (["--total-steps", "1.5"], "total-steps"),
    (["--num-seeds", "two"], "num-seeds"),
    (["--no-such-flag", "1"], "no-such-flag"),
]


@pytest.mark.parametrize(("argv", "name"), CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_command_line(argv, name, capsys):
    with pytest.raises(SystemExit) as exit_:
        config_from_args(ppo.Config, argv, num_seeds=8)
    assert exit_.value.code == 2
    assert name in capsys.readouterr().err


def _other_cases():
    x = np.zeros(3)
    buf = replay.init({"o": np.zeros(2)}, 8)
    strategy = es.cmaes(popsize=4)
    state = strategy.init(x, 1.0)
    cases = [
        ("envs.make-id", lambda: envs.make("NoSuchEnv-v0"), ValueError, "NoSuchEnv"),
        ("envs.make-num_envs-0", lambda: envs.make("CartPole-v1", num_envs=0), ValueError, "num_envs"),
        ("envs.make-num_envs-1.5", lambda: envs.make("CartPole-v1", num_envs=1.5), TypeError, "num_envs"),
        ("envs.make-max_episode_steps-0", lambda: envs.make("CartPole-v1", max_episode_steps=0), ValueError,
         "max_episode_steps"),
        ("envs.make-gamma", lambda: envs.make("CartPole-v1", gamma=1.5), ValueError, "gamma"),
        ("replay.init-capacity-0", lambda: replay.init({"o": x}, 0), ValueError, "capacity"),
        ("replay.init-capacity-str", lambda: replay.init({"o": x}, "8"), TypeError, "capacity"),
        ("replay.init-alpha", lambda: replay.init({"o": x}, 8, True, alpha=2.0), ValueError, "alpha"),
        ("replay.add-too-many", lambda: replay.add(buf, {"o": np.zeros((9, 2))}), ValueError, "capacity"),
        ("replay.add-shape", lambda: replay.add(buf, {"o": np.zeros((2, 3))}), ValueError, "batch"),
        ("replay.add-structure", lambda: replay.add(buf, {"x": np.zeros((2, 2))}), ValueError, "structure"),
        ("replay.sample-0", lambda: replay.sample(buf, None, 0), ValueError, "batch_size"),
        ("replay.sample-beta", lambda: replay.sample(buf, None, 4, beta=-1.0), ValueError, "beta"),
        ("es.cmaes-popsize", lambda: es.cmaes(popsize=1), ValueError, "popsize"),
        ("es.cmaes-decomposition", lambda: es.cmaes(popsize=4, decomposition="qr"), ValueError, "decomposition"),
        ("es.init-x0-2d", lambda: strategy.init(np.zeros((2, 2)), 1.0), ValueError, "x0"),
        ("es.init-x0-empty", lambda: strategy.init(np.zeros(0), 1.0), ValueError, "x0"),
        ("es.init-sigma0-0", lambda: strategy.init(x, 0.0), ValueError, "sigma0"),
        ("es.init-sigma0-nan", lambda: strategy.init(x, math.nan), ValueError, "sigma0"),
        ("es.tell-solutions", lambda: strategy.tell(state, np.zeros((4, 2)), np.zeros(4)), ValueError, "solutions"),
        ("es.tell-fitness", lambda: strategy.tell(state, np.zeros((4, 3)), np.zeros(5)), ValueError, "fitness"),
        ("es.openai_es-sigma_final", lambda: es.openai_es(popsize=4, sigma_final=0.0), ValueError, "sigma_final"),
        ("es.cem-elite", lambda: es.cem(popsize=4, elite_ratio=0.0), ValueError, "elite"),
        ("Config-ID", lambda: Config({"ID": 3}), ValueError, "ID"),
        ("run_experiment-seeds", lambda: run_experiment(_job, Config({"x": 1}), ["../x"], "/tmp/never", None),
         ValueError, "seeds"),
        ("run_experiment-max_workers", lambda: run_experiment(_job, Config({"x": 1}), [0], "/tmp/never", -1),
         ValueError, "max_workers"),
        ("run_experiment-chunksize", lambda: run_experiment(_job, Config({"x": 1}), [0], "/tmp/never", 1, 0),
         ValueError, "chunksize"),
        ("run_experiment-timeout", lambda: run_experiment(_job, Config({"x": 1}), [0], "/tmp/never", 1, timeout=-1),
         ValueError, "timeout"),
        ("run_experiment-timeout-inline", lambda: run_experiment(_job, Config({"x": 1}), [0], "/tmp/never", None,
                                                                 timeout=5), ValueError, "timeout"),
        ("run_experiment-run", lambda: run_experiment(3, Config({"x": 1}), [0], "/tmp/never", None), TypeError, "run"),
        ("metric.returns-rank0", lambda: metric.returns(0.9, 1.0), ValueError, "rewards"),
        ("metric.returns-gamma-jnp", lambda: metric.returns(jnp.array(1.5), np.ones(3)), ValueError, "gamma"),
    ]  # fmt: skip
    for name, call, exc, word in cases:
        yield pytest.param(call, exc, word, id=name)


def _job(config, seed, device, logdir):
    return None


@pytest.mark.parametrize(("call", "exc", "word"), list(_other_cases()))
def test_other_public_functions(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_damaged_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "run.ckpt"
    path.write_bytes(b"\x80\x04not a checkpoint")
    with pytest.raises(ValueError, match="run.ckpt"):
        checkpoint.load(path)


def test_there_are_hundreds_of_cases():
    n = (
        len(list(_metric_cases()))
        + len(list(_loss_cases()))
        + len(list(_config_cases()))
        + len(CLI_CASES)
        + len(list(_other_cases()))
    )
    assert n >= 500, n


def test_segment_tree_index_out_of_range_is_named():
    from lagomjax.transform import SumTree

    tree = SumTree(4)
    with pytest.raises(IndexError, match=r"index must lie in \[0, capacity=4\)"):
        tree.update(np.array([1, 4]), 1.0)
    with pytest.raises(IndexError, match="index"):
        tree.update(-1, 1.0)
    assert float(tree.update(3, 2.0).sum()) == 2.0


def test_sweeps_refuse_structural_hyper_parameters_before_compiling():
    from lagomjax import experiment

    train = experiment.with_hparams(ppo.make_train, ppo.Config(total_steps=1024))
    with pytest.raises(ValueError, match=r"\['num_minibatches'\] set shapes"):
        experiment.sweep(train, experiment.grid(num_minibatches=[3, 4]), num_seeds=1)
    with pytest.raises(ValueError, match=r"\['no_such'\] are not fields"):
        experiment.sweep(train, experiment.grid(no_such=[1.0]), num_seeds=1)
