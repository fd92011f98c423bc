"""The README's snippets run, and its two set-up commands are the ones CI and users run."""

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


@pytest.mark.slow
def test_readme_python_snippets_run_and_show_true_values():
    ns = {}
    for block in re.findall(r"```python\n(.*?)```", README, flags=re.S):
        exec(compile(block, "README.md", "exec"), ns)
    np.testing.assert_allclose(ns["adv"].shape, (128, 8))
    np.testing.assert_allclose(ns["sweep"](np.array([0.9, 0.99, 0.999])).shape, (3, 4))
    np.testing.assert_allclose(ns["nV"], [0.5, 0.0, 0.5, 7.0])
    out = ns["metric"].bootstrapped_returns_rollout(1.0, ns["r"], ns["nV"], ns["term"], ns["trunc"])
    np.testing.assert_allclose(out, [2.0, 1.0, 9.0, 8.0])
    assert [round(ns["eps"](i), 6) for i in range(5)] == [1.0, 0.7, 0.4, 0.1, 0.1]
    assert np.all(np.asarray(ns["results"].fbest) < 1e-8)  # the README says so
    assert ns["batch"].obs.shape == (128, 1024, 4) and ns["batch"].terminated.shape == (128, 1024)
    assert ns["metrics"]["episode_return"].shape == (2, 39)


def test_ci_reads_the_readme_test_command():
    assert "<!-- test-command -->" in README and "<!-- main-command -->" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci
    test_cmd = re.search(r"<!-- test-command -->\s*```bash\n(.*?)\n```", README, flags=re.S).group(1)
    assert "pytest" in test_cmd and "ruff check" in test_cmd and 'pip install -e ".[test]"' in test_cmd
    main_cmd = re.search(r"<!-- main-command -->\s*```bash\n(.*?)\n```", README, flags=re.S).group(1)
    script = re.search(r"python (examples/\S+\.py)", main_cmd).group(1)
    assert (ROOT / script).is_file() and "ppo" in script and "--num-seeds" in main_cmd


def test_readme_search_space_is_a_valid_space(tmp_path):
    from lagomjax.algos import ppo
    from lagomjax.experiment import load_space

    (block,) = re.findall(r"```yaml\n(# space\.yml.*?)```", README, flags=re.S)
    (tmp_path / "space.yml").write_text(block)
    space = load_space(tmp_path / "space.yml", ppo.Config())
    assert {p.name for p in space.params} == {"lr", "gae_lambda", "gamma"}
