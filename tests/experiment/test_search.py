"""Search spaces, batched trials, grid / CMA-ES / Optuna searches (Optuna's study resumed from its
SQLite file), and every algorithm's float fields traced as search needs them."""

import dataclasses
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import algos
from lagomjax.experiment import cmaes_search, grid_search, load_space, optuna_search, trial_runner
from lagomjax.experiment.search import final_training_return, optuna_pruner
from lagomjax.experiment.space import space_to_dict
from lagomjax.experiment.toy import Toy, toy_parts

TOY_SPACE = {"h0": {"low": 0.0, "high": 1.0}, "h1": {"low": 0.0, "high": 1.0}}


def toy_value(h0, h1, config=Toy()):
    """The toy's final Q after ``num_updates`` plain-loop steps."""
    theta = np.array([0.9, 0.9], np.float64)
    for _ in range(config.num_updates):
        theta = theta - config.step * 2.0 * np.array([h0, h1]) * theta
    return 1.2 - np.sum(theta**2)


def test_space_units_round_trip_and_grid():
    space = load_space({"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "clip": {"low": 0.1, "high": 0.3},
                        "gamma": {"values": [0.99, 0.9, 0.95]}})  # fmt: skip
    u = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1.0, 1.0, 0.999]], np.float32)
    hp = {k: np.asarray(v) for k, v in space.from_unit(u).items()}
    np.testing.assert_allclose(hp["lr"], [1e-4, 1e-3, 1e-2], rtol=1e-5)
    np.testing.assert_allclose(hp["clip"], [0.1, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(hp["gamma"], [0.9, 0.95, 0.99], rtol=1e-6)  # values sorted
    back = np.asarray(space.to_unit(hp))
    np.testing.assert_allclose(back[:, :2], u[:, :2], atol=1e-5)
    np.testing.assert_allclose(back[:, 2], [1 / 6, 0.5, 5 / 6], atol=1e-6)  # a choice's cell middles
    g = space.grid(3)
    assert len(g["lr"]) == 27 and np.allclose(sorted(set(g["lr"].tolist())), [1e-4, 1e-3, 1e-2], rtol=1e-5)
    samples = space.sample(jax.random.key(0), 1000)
    assert (np.asarray(samples["lr"]) >= 1e-4 * (1 - 1e-6)).all() and (np.asarray(samples["lr"]) <= 1e-2).all()
    assert np.median(np.log10(np.asarray(samples["lr"]))) == pytest.approx(-3, abs=0.15)  # log-uniform
    assert set(np.asarray(samples["gamma"]).tolist()) == set(np.float32([0.9, 0.95, 0.99]).tolist())
    assert load_space(space_to_dict(space)) == space


def test_a_space_file_reads_exponents_without_a_dot(tmp_path):
    (tmp_path / "space.yml").write_text("lr: {low: 1e-4, high: 1E-2, log: true}\nclip: {low: 1.0e-1, high: 3e-1}\n")
    space = load_space(tmp_path / "space.yml")
    assert load_space({"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "clip": {"low": 0.1, "high": 0.3}}) == space


@pytest.mark.parametrize(
    "spec,match",
    [
        ({}, "at least one field"),
        ({"lr": 0.1}, "expected a mapping"),
        ({"lr": {"low": 0.1}}, "needs both low and high"),
        ({"lr": {"low": 0.3, "high": 0.1}}, "low=0.3 must be <= high=0.1"),
        ({"lr": {"low": 0.0, "high": 0.1, "log": True}}, "log range needs low > 0"),
        ({"lr": {"low": 0.1, "high": 0.2, "step": 2}}, "unknown keys"),
        ({"lr": {"values": []}}, "non-empty list"),
        ({"lr": {"values": [0.1], "low": 0.1}}, "either values or low/high"),
        ({"lr": {"low": "a", "high": 1.0}}, "finite number"),
        ({"lr": {"low": 0.1, "high": 0.2, "log": "yes"}}, "log must be true or false"),
    ],
)
def test_bad_spaces_are_refused_naming_the_field(spec, match):
    with pytest.raises(ValueError, match=match):
        load_space(spec)


def test_spaces_refuse_structural_fields_and_values_the_config_refuses():
    config = algos.get("ppo").Config()
    for field in ("num_envs", "hidden_sizes", "normalize_obs", "activation"):
        with pytest.raises(ValueError, match=f"{field}.*set shapes or program structure.*sweep_configs"):
            load_space({field: {"low": 1, "high": 2}}, config)
    with pytest.raises(ValueError, match="gamma: 1.5 is refused by Config"):
        load_space({"gamma": {"low": 0.9, "high": 1.5}}, config)
    with pytest.raises(ValueError, match="not fields of Config"):
        load_space({"learning_rate": {"low": 0.1, "high": 0.2}}, config)


@pytest.mark.parametrize("name", list(algos.NAMES))
def test_every_float_field_of_every_algorithm_can_be_searched(name):
    """Searches trace the float fields: each algorithm builds and runs one update with all of them traced."""
    algo = algos.get(name)
    config = algo.Config(env_id="Pendulum-v1" if name in ("sac", "td3", "ddpg") else "CartPole-v1")
    floats = [f.name for f in dataclasses.fields(config) if type(f.default) is float]
    assert floats

    def one_update(hp):
        parts = algo.make_parts(dataclasses.replace(config, **hp))
        return parts.update(parts.init(jax.random.key(0)), 0)[1]

    jax.eval_shape(one_update, {k: jnp.float32(getattr(config, k)) for k in floats})


def test_trial_runner_matches_each_setting_run_alone_and_compiles_once():
    config = Toy()
    run = trial_runner(toy_parts, config, batch=3, num_seeds=2, chunks=4)
    hp = {"h0": np.array([0.2, 0.5, 1.0], np.float32), "h1": np.array([1.0, 0.0, 0.3], np.float32)}
    out = run(hp)
    assert out.eval_return.shape == (3, 2) and out.metrics["episode_return"].shape == (3, 2, 40)
    for i in range(3):
        assert out.eval_return[i, 0] == pytest.approx(toy_value(hp["h0"][i], hp["h1"][i]), abs=1e-5)
    again = run({k: v[::-1].copy() for k, v in hp.items()})
    assert again.timing["compile_s"] < out.timing["compile_s"] / 5  # reused, not recompiled
    np.testing.assert_array_equal(again.eval_return, out.eval_return[::-1])
    with pytest.raises(ValueError, match=r"\[batch=3\]"):
        run({"h0": np.ones(2), "h1": np.ones(2)})


def test_trial_runner_pool_starts_each_trial_in_a_free_slot_from_its_own_update_zero(monkeypatch):
    import lagomjax.experiment.search as search

    trims = []
    monkeypatch.setattr(search, "release_host_memory", lambda: trims.append(1))
    config = Toy()
    run = trial_runner(toy_parts, config, batch=2, num_seeds=2, chunks=4)  # pieces of 10 updates
    settings = [(0.2, 1.0), (0.5, 0.0), (1.0, 0.3), (0.7, 0.7), (0.1, 0.9)]
    queue, ended, log = list(enumerate(settings)), {}, []

    def ask():
        if not queue:
            return None
        i, (h0, h1) = queue.pop(0)
        return i, {"h0": h0, "h1": h1}

    def on_chunk(i, done, m):
        log.append((i, done))
        assert m["episode_return"].shape == (2, 10)
        return i == 1 and done >= 20  # trial 1 stops after two pieces; trial 2 takes its slot

    timing = run.pool(ask, ended.__setitem__, on_chunk)
    assert sorted(ended) == [0, 1, 2, 3, 4] and timing["updates"] == 4 * 40 + 20
    assert len(trims) == 10  # after each of the 10 pieces the pool ran (slot 1: trials 1, 2, 4; slot 0: 0, 3)
    # the order slots ran in: 0 and 1; 2 in 1's slot at 20; 3 in 0's at 40; 4 in 2's at 60 (slot 0 then empty)
    assert [i for i, done in log if done == 10] == [0, 1, 2, 3, 4]
    assert [i for i, done in log if done == 40] == [0, 2, 3, 4]
    assert ended[1].stopped.tolist() == [True] and np.isnan(ended[1].eval_return).all()
    np.testing.assert_array_equal(ended[1].metrics["env_steps"], [[np.arange(1, 21)] * 2])
    alone = run({"h0": np.float32([1.0, 0.1]), "h1": np.float32([0.3, 0.9])})  # trials 2 and 4, in step
    for i, (h0, h1) in enumerate(settings):
        if i == 1:
            continue
        t = ended[i]
        assert not t.stopped[0] and t.eval_return.shape == (1, 2)
        assert t.eval_return[0, 0] == pytest.approx(toy_value(h0, h1), abs=1e-5)
        np.testing.assert_array_equal(t.metrics["env_steps"], [[np.arange(1, 41)] * 2])  # its own update index
    for i, j in ((2, 0), (4, 1)):
        np.testing.assert_allclose(ended[i].metrics["episode_return"][0], alone.metrics["episode_return"][j], rtol=1e-6)
    compiled = timing["compile_s"]
    queue.extend(enumerate(settings))
    again = run.pool(ask, ended.__setitem__, on_chunk)
    assert again["compile_s"] < compiled / 5 and again["updates"] == timing["updates"]  # reused, not recompiled


def test_grid_search_finds_the_best_point_a_plain_loop_finds():
    result = grid_search(toy_parts, Toy(), TOY_SPACE, num=3, batch_size=4, progress=False)
    assert len(result.trials) == 9 and result.timing["batches"] == 3
    values = {(r["hparams"]["h0"], r["hparams"]["h1"]): r["value"] for r in result.trials}
    for (h0, h1), v in values.items():
        assert v == pytest.approx(toy_value(h0, h1), abs=1e-5)
    assert (result.best["hparams"]["h0"], result.best["hparams"]["h1"]) == (1.0, 1.0)


def _split_parts(config):
    """Training return ``h0 * (i + 1)`` at even updates ``i`` (NaN at odd ones: no episode ended
    there), final evaluation ``-h0``: the two objectives rank the settings in opposite orders."""
    parts = toy_parts(config)

    def update(s, i):
        ret = jnp.where(i % 2 == 0, config.h0 * (i + 1), jnp.nan)
        return s, {"episode_return": ret, "env_steps": i + 1}

    return parts._replace(update=update, finish=lambda s, key: -config.h0 * jnp.ones(()))


def _last_tenth_plain(h0, updates=40):
    """The training objective by a plain loop: the episodes that ended in the last tenth of updates."""
    ended = [h0 * (i + 1) for i in range(updates - max(1, updates // 10), updates) if i % 2 == 0]
    return sum(ended) / len(ended)


@pytest.mark.parametrize("objective", ["eval", "train"])
def test_searches_pick_and_report_by_their_objective(objective):
    space = {"h0": {"low": 0.1, "high": 1.0}}
    want = (lambda h0: -h0) if objective == "eval" else _last_tenth_plain
    results = [grid_search(_split_parts, Toy(), space, num=4, objective=objective, progress=False),
               cmaes_search(_split_parts, Toy(h0=0.5), space, 2, 4, objective=objective, progress=False)]  # fmt: skip
    if importlib.util.find_spec("optuna"):
        results.append(optuna_search(_split_parts, Toy(), space, 4, 4, objective=objective, progress=False))
    for result in results:
        for r in result.trials:
            assert r["value"] == pytest.approx(want(r["hparams"]["h0"]), rel=1e-5), (result.method, r)
        best = max(result.trials, key=lambda r: r["value"])["hparams"]["h0"]
        assert result.best["hparams"]["h0"] == best
        h0s = [r["hparams"]["h0"] for r in result.trials]
        assert best == (min(h0s) if objective == "eval" else max(h0s)), result.method
    np.testing.assert_allclose(final_training_return([[1.0, np.nan, 3.0] * 4, [np.nan] * 12]), [3.0, np.nan])
    with pytest.raises(ValueError, match="objective must be one of"):
        grid_search(_split_parts, Toy(), space, objective="test")


def test_cmaes_search_moves_towards_the_optimum():
    space = {"h0": {"low": 0.001, "high": 1.0, "log": True}, "h1": {"low": 0.001, "high": 1.0, "log": True}}
    config = Toy(h0=0.002, h1=0.002)  # start far from the optimum (h = 1)
    result = cmaes_search(toy_parts, config, space, generations=8, popsize=6, progress=False)
    first = max(r["value"] for r in result.trials[:6])
    assert len(result.trials) == 48
    assert result.best["value"] > 1.15 > first, (first, result.best)


def test_optuna_search_resumes_its_study_from_sqlite(tmp_path):
    optuna = pytest.importorskip("optuna", reason="needs lagomjax[search]")
    db = tmp_path / "study.db"
    kw = dict(batch_size=4, storage=db, progress=False, seed=3)
    first = optuna_search(toy_parts, Toy(), TOY_SPACE, 4, **kw)
    assert len(first.trials) == 4 and all(r["state"] == "complete" for r in first.trials)
    # a process that died mid-batch leaves a running trial behind
    study = optuna.load_study(study_name="lagomjax", storage=f"sqlite:///{db}")
    orphan = study.ask({"h0": optuna.distributions.FloatDistribution(0.0, 1.0),
                        "h1": optuna.distributions.FloatDistribution(0.0, 1.0)})  # fmt: skip
    resumed = optuna_search(toy_parts, Toy(), TOY_SPACE, 12, **kw)
    study = resumed.study
    states = [t.state.name for t in study.trials]
    assert states.count("FAIL") == 1 and study.trials[orphan.number].state.name == "FAIL"
    assert states.count("COMPLETE") + states.count("PRUNED") == 12
    retry = [t for t in study.trials if t.user_attrs.get("retry_of") == orphan.number]
    assert len(retry) == 1 and retry[0].params == orphan.params  # asked again with the same values
    for before in first.trials:  # the first batch is kept as it was
        t = study.trials[before["number"]]
        assert t.value == pytest.approx(before["value"]) and t.params == pytest.approx(before["hparams"])
    for t in study.trials:
        if t.state.name == "COMPLETE":
            assert t.value == pytest.approx(toy_value(t.params["h0"], t.params["h1"]), abs=1e-5)
    assert study.best_value > 1.1
    # nothing left to do: a third call runs no batch
    third = optuna_search(toy_parts, Toy(), TOY_SPACE, 12, **kw)
    assert third.trials == [] and third.best["value"] == pytest.approx(study.best_value)


@pytest.mark.parametrize("budget", [None, 340])
def test_optuna_prunes_a_trial_and_its_slot_takes_the_next(tmp_path, budget):
    optuna = pytest.importorskip("optuna", reason="needs lagomjax[search]")
    db = tmp_path / "study.db"
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name="lagomjax", direction="maximize")
    good, bad = [0.85, 0.9, 0.95, 1.0], [0.0, 0.01, 0.02, 0.03]
    for h in good + bad + [1.0, 0.0, 0.98, 0.01]:
        study.enqueue_trial({"h0": h, "h1": h})
    n_trials = 12 if budget is None else 20  # the budget stops it instead: 8.5 unpruned trials' updates
    result = optuna_search(toy_parts, Toy(), TOY_SPACE, n_trials, batch_size=4, chunks=8, storage=db,
                           budget=budget, progress=False)  # fmt: skip
    trials, records = result.study.trials, {r["number"]: r for r in result.trials}
    states = ["COMPLETE"] * 4 + ["PRUNED"] * 4 + ["COMPLETE", "PRUNED", "COMPLETE", "PRUNED"]
    assert [t.state.name for t in trials[:12]] == states
    for t in trials[:12]:  # below the median: stopped at the first check after the first quarter
        want = 10 if t.state.name == "PRUNED" else 40
        assert t.user_attrs["updates"] == max(t.intermediate_values) == want, (t.number, t.user_attrs)
        if t.state.name == "PRUNED":
            assert np.isnan(records[t.number]["value"]) and records[t.number]["state"] == "pruned"
        else:
            assert t.value == pytest.approx(toy_value(t.params["h0"], t.params["h1"]), abs=1e-5)
    # the last mixed trials pruned at update 10 (200 + 20 spent, two running) leave room for one more
    # trial of 40 within 340 updates: 13 trials where 8 unpruned ones would fit
    assert len(trials) == (12 if budget is None else 13)
    used = sum(t.user_attrs["updates"] for t in trials)
    assert used == 300 + sum(t.user_attrs["updates"] for t in trials[12:]) <= (budget or 300)
    assert result.timing["updates"] == used
    nopruned = optuna_search(toy_parts, Toy(), TOY_SPACE, 8, batch_size=4, pruner="none", progress=False)
    assert all(r["state"] == "complete" for r in nopruned.trials) and nopruned.timing["updates"] == 8 * 40


def test_optuna_takes_any_pruner_and_successive_halving_runs_more_trials_in_the_budget():
    optuna = pytest.importorskip("optuna", reason="needs lagomjax[search]")
    halving = optuna_pruner("halving", 40, batch_size=4, chunks=8)
    assert isinstance(halving, optuna.pruners.SuccessiveHalvingPruner)
    for pruner in ("halving", optuna.pruners.SuccessiveHalvingPruner(min_resource=5, reduction_factor=3)):
        result = optuna_search(toy_parts, Toy(), TOY_SPACE, 40, batch_size=4, chunks=8, budget=8 * 40, pruner=pruner,
                               progress=False)  # fmt: skip
        updates = [t.user_attrs["updates"] for t in result.study.trials]
        assert sum(updates) == result.timing["updates"] <= 8 * 40 and len(updates) > 8
        pruned = {u for u, t in zip(updates, result.study.trials) if t.state.name == "PRUNED"}
        assert pruned and pruned <= {5, 15}  # the rungs: 1 and 3 reports of 5 updates
        assert result.best["value"] == pytest.approx(toy_value(**result.best["hparams"]), abs=1e-5)
    with pytest.raises(ValueError, match=r"pruner must be one of \('median', 'halving', 'none'\), got 'best'"):
        optuna_search(toy_parts, Toy(), TOY_SPACE, 4, pruner="best", progress=False)
    with pytest.raises(TypeError, match="or an optuna.pruners.BasePruner, got 3"):
        optuna_search(toy_parts, Toy(), TOY_SPACE, 4, pruner=3, progress=False)
    with pytest.raises(ValueError, match="budget must be an int >= 1, got 0"):
        optuna_search(toy_parts, Toy(), TOY_SPACE, 4, budget=0, progress=False)


def test_optuna_first_batch_is_a_space_filling_design():
    pytest.importorskip("optuna", reason="needs lagomjax[search]")
    space = {**TOY_SPACE, "h1": {"low": 0.01, "high": 1.0, "log": True}}
    for seed in range(3):
        result = optuna_search(toy_parts, Toy(), space, 4, batch_size=4, seed=seed, progress=False)
        first = result.study.trials[:4]
        assert all(t.user_attrs.get("design") == "sobol" for t in first)
        u = np.array([[t.params["h0"], np.log(t.params["h1"] / 0.01) / np.log(100.0)] for t in first])
        quadrants = {(int(a >= 0.5), int(b >= 0.5)) for a, b in u}
        assert quadrants == {(0, 0), (0, 1), (1, 0), (1, 1)}, u  # one point in each quarter of the unit square
