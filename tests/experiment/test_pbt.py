"""Population based training: the selection against a NumPy loop, the paper's toy problem, PBT on
PPO, refusals, and a resume after SIGKILL that is bit-identical to an uninterrupted run."""

import dataclasses
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.experiment import load_space, pbt
from lagomjax.experiment.pbt import exploit_explore, lineage, num_replaced, selection_draws
from lagomjax.experiment.toy import Toy, toy_parts
from lagomjax.train import TrainParts


def reference_exploit_explore(draws, fitness, hparams, space, fraction, resample_prob, perturb):
    """The same step written as a plain loop over members."""
    draws = {k: np.asarray(v) for k, v in draws.items()}
    p = len(fitness)
    n = max(1, int(fraction * p))
    f = [(-np.inf if np.isnan(x) else x) for x in fitness]
    order = sorted(range(p), key=lambda i: (-f[i], i))  # best first, ties to the lower index
    bottom, top = order[p - n :], order[:n]
    fresh = {k: np.asarray(v) for k, v in space.from_unit(draws["fresh"]).items()}
    source = list(range(p))
    out = {k: np.array(v, np.float32) for k, v in hparams.items()}
    for i in bottom:
        donor = top[min(int(draws["donor"][i] * n), n - 1)]
        source[i] = donor
        for d, prm in enumerate(space.params):
            v = float(hparams[prm.name][donor])
            if draws["resample"][i, d] < resample_prob:
                new = float(fresh[prm.name][i])
            elif prm.values:
                index = int(np.argmin([abs(v - x) for x in np.float32(prm.values)]))
                index = min(max(index + (1 if draws["up"][i, d] else -1), 0), len(prm.values) - 1)
                new = prm.values[index]
            else:
                new = min(max(v * (perturb[1] if draws["up"][i, d] else perturb[0]), prm.low), prm.high)
            out[prm.name][i] = new
    return np.asarray(source), out


SPACE = {"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "ent_coef": {"low": 0.0, "high": 0.05},
         "gamma": {"values": [0.9, 0.95, 0.99, 0.999]}}  # fmt: skip


@pytest.mark.parametrize("population,fraction", [(8, 0.25), (5, 0.2), (16, 0.5), (4, 0.1)])
def test_exploit_explore_equals_a_plain_loop(population, fraction):
    space = load_space(SPACE)
    step = jax.jit(exploit_explore, static_argnums=(3, 4, 5, 6))
    for trial in range(6):
        rng = np.random.default_rng(trial)
        fitness = rng.normal(size=population).astype(np.float32)
        if trial % 2:
            fitness[rng.integers(population, size=2)] = np.nan
        if trial % 3 == 2:
            fitness[:3] = 1.0  # ties
        hp = {k: np.asarray(v) for k, v in space.sample(jax.random.key(trial), population).items()}
        draws = selection_draws(jax.random.key(100 + trial), population, len(space))
        for eager in (True, False):
            fn = exploit_explore if eager else step
            source, new = fn(draws, jnp.asarray(fitness), hp, space, fraction, 0.3, (0.8, 1.2))
            ref_source, ref = reference_exploit_explore(draws, fitness, hp, space, fraction, 0.3, (0.8, 1.2))
            np.testing.assert_array_equal(np.asarray(source), ref_source)
            for k in space.names:
                np.testing.assert_allclose(np.asarray(new[k]), ref[k], rtol=1e-6)
        replaced = np.flatnonzero(ref_source != np.arange(population))
        assert 1 <= len(replaced) <= num_replaced(population, fraction)
        assert not np.isnan(fitness[ref_source[replaced]]).any()  # a NaN member never donates


TOY_SPACE = {"h0": {"low": 0.0, "high": 1.0}, "h1": {"low": 0.0, "high": 1.0}}
TOY_INIT = {"h0": np.array([1, 0] * 4, np.float32), "h1": np.array([0, 1] * 4, np.float32)}


def test_pbt_solves_the_toy_problem_that_fixed_hyperparameters_cannot(monkeypatch):
    trims = []  # (the module, not the function of the same name that lagomjax.experiment exports)
    monkeypatch.setattr(sys.modules["lagomjax.experiment.pbt"], "release_host_memory", lambda: trims.append(1))
    out = pbt(toy_parts, Toy(), TOY_SPACE, population=8, interval=4, init_hparams=TOY_INIT, progress=False)
    assert len(trims) == 10  # freed host memory handed back after every interval
    assert out.eval_return.shape == (8,) and out.metrics["episode_return"].shape == (8, 40)
    assert out.history["fitness"].shape == (10, 8) and out.history["hparams"]["h0"].shape == (10, 8)
    assert out.eval_return.max() > 1.19, out.eval_return  # the optimum is 1.2
    # without exploit and explore (fraction of nobody is impossible: resample nothing, copy nothing)
    fixed = pbt(toy_parts, Toy(), TOY_SPACE, population=8, interval=40, init_hparams=TOY_INIT, progress=False)
    assert fixed.eval_return.max() < 0.4, fixed.eval_return
    # the history is consistent: the first row is the initial values, selection copies the top
    np.testing.assert_array_equal(out.history["hparams"]["h0"][0], TOY_INIT["h0"])
    src = out.history["source"]
    assert (src[-1] == np.arange(8)).all()  # the last interval only trains
    for j in range(len(src) - 1):
        moved = np.flatnonzero(src[j] != np.arange(8))
        assert len(moved) == 2  # bottom quarter of 8
        fit = np.where(np.isnan(out.history["fitness"][j]), -np.inf, out.history["fitness"][j])
        assert (fit[src[j][moved]] >= np.sort(fit)[-2]).all()  # donors are from the top quarter
    best = out.best
    path = lineage(src, best)
    assert path[-1] == best and ((0 <= path) & (path < 8)).all()


def test_pbt_members_keep_their_own_keys_when_copied():
    def keyed_parts(config):
        base = toy_parts(config)

        def update(s, i):
            s, m = base.update(s, i)
            key, k = jax.random.split(s.key)
            return s.replace(key=key), {**m, "draw": jax.random.uniform(k)}

        return TrainParts(base.init, update, base.finish)

    out = pbt(keyed_parts, Toy(), TOY_SPACE, population=4, interval=4, init_hparams={k: v[:4] for k, v in
              TOY_INIT.items()}, progress=False)  # fmt: skip
    draws = out.metrics["draw"]
    assert len(np.unique(draws[:, -1])) == 4  # copied members do not replay their donor's randomness


def test_pbt_refuses_bad_settings_before_compiling():
    with pytest.raises(ValueError, match="interval=7 must divide"):
        pbt(toy_parts, Toy(), TOY_SPACE, population=4, interval=7)
    with pytest.raises(ValueError, match="population must be >= 2"):
        pbt(toy_parts, Toy(), TOY_SPACE, population=1, interval=4)
    with pytest.raises(ValueError, match="fraction"):
        pbt(toy_parts, Toy(), TOY_SPACE, population=4, interval=4, fraction=0.8)
    with pytest.raises(ValueError, match="fitness"):
        pbt(toy_parts, Toy(), TOY_SPACE, population=4, interval=4, fitness="best")
    with pytest.raises(ValueError, match="num_updates.*set shapes or program structure.*sweep_configs"):
        pbt(toy_parts, Toy(), {"num_updates": {"low": 10, "high": 20}}, population=4, interval=4)
    with pytest.raises(ValueError, match="not fields of Toy"):
        pbt(toy_parts, Toy(), {"h2": {"low": 0.0, "high": 1.0}}, population=4, interval=4)
    with pytest.raises(ValueError, match="init_hparams"):
        pbt(toy_parts, Toy(), TOY_SPACE, population=4, interval=4, init_hparams={"h0": np.ones(4)})
    with pytest.raises(ValueError, match="multiple of the 2 devices"):
        pbt(toy_parts, Toy(), TOY_SPACE, population=3, interval=4, devices=jax.devices() * 2)


def test_pbt_trains_ppo_and_its_searched_values_reach_the_learner():
    from lagomjax.algos import ppo

    config = ppo.Config(env_id="CartPole-v1", total_steps=16 * 4 * 128, num_envs=4, eval_episodes=4)
    space = {"lr": {"low": 3e-4, "high": 3e-3, "log": True}, "clip_eps": {"values": [0.1, 0.2, 0.3]}}
    out = pbt(ppo.make_parts, config, space, population=4, interval=4, seed=1, progress=False)
    lr = out.history["hparams"]["lr"]
    assert lr.shape == (4, 4) and ((3e-4 <= lr) & (lr <= 3e-3 * (1 + 1e-6))).all()
    assert set(np.unique(out.history["hparams"]["clip_eps"])) <= {np.float32(v) for v in (0.1, 0.2, 0.3)}
    assert np.isfinite(out.eval_return).all() and out.eval_return.max() >= 150, out.eval_return
    # member 0 of the first interval trained exactly like a single run with its values
    first = {k: float(v[0, 0]) for k, v in out.history["hparams"].items()}
    single = ppo.make_train(dataclasses.replace(config, **first))
    _, m = jax.jit(single)(jax.random.split(jax.random.key(1), 4)[0])
    for k in ("pg_loss", "v_loss", "approx_kl"):
        np.testing.assert_allclose(out.metrics[k][0, :4], np.asarray(m[k])[:4], rtol=1e-4, atol=1e-6)


KILLED = textwrap.dedent(
    """
    import time
    import numpy as np
    from lagomjax.experiment import pbt
    from lagomjax.experiment.toy import Toy, toy_parts

    TOY_SPACE = {space!r}
    TOY_INIT = {{"h0": np.array([1, 0] * 4, np.float32), "h1": np.array([0, 1] * 4, np.float32)}}

    def slow(j, row):
        print("interval", j, flush=True)
        time.sleep(0.3)

    pbt(toy_parts, Toy(num_updates=80), TOY_SPACE, population=8, interval=4, init_hparams=TOY_INIT,
        checkpoint={path!r}, on_interval=slow, progress=False)
    """
)


def test_pbt_resumes_bit_identically_after_sigkill(tmp_path, monkeypatch):
    path = tmp_path / "pbt.ckpt"
    script = KILLED.format(space=TOY_SPACE, path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            line = proc.stdout.readline()
            if line.startswith("interval 5"):
                break
            assert line, "the PBT process ended before it was killed"
        time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL and path.exists()
    kw = dict(population=8, interval=4, init_hparams=TOY_INIT, progress=False)
    resumed = pbt(toy_parts, Toy(num_updates=80), TOY_SPACE, checkpoint=path, **kw)
    assert resumed.timing["finished"]
    whole = pbt(toy_parts, Toy(num_updates=80), TOY_SPACE, **kw)
    np.testing.assert_array_equal(resumed.eval_return, whole.eval_return)
    np.testing.assert_array_equal(resumed.metrics["episode_return"], whole.metrics["episode_return"])
    np.testing.assert_array_equal(resumed.history["source"], whole.history["source"])
    for k in TOY_SPACE:
        np.testing.assert_array_equal(resumed.history["hparams"][k], whole.history["hparams"][k])
    np.testing.assert_array_equal(np.asarray(resumed.state.members.theta), np.asarray(whole.state.members.theta))

    # a resume with other settings is refused, naming them, before anything compiles
    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled before refusing the checkpoint")

    monkeypatch.setattr(jax.stages.Lowered, "compile", no_compiling)
    with pytest.raises(ValueError, match="resample_prob"):
        pbt(toy_parts, Toy(num_updates=80), TOY_SPACE, checkpoint=path, resample_prob=0.5, **kw)
