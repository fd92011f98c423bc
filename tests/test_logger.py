import pytest

from lagomjax import Logger
from lagomjax.utils import pickle_load


def make_logger():
    logger = Logger()
    for i, loss in [(1, 0.12), (2, 0.11), (3, 0.09)]:
        logger("iteration", i)
        logger("train_loss", loss)
    return logger


def test_dump_formats(capsys):
    logger = make_logger()
    logger.dump()
    assert capsys.readouterr().out == "Iteration: [1, 2, 3]\nTrain Loss: [0.12, 0.11, 0.09]\n"
    logger.dump(keys=["train_loss"], index=-1)
    assert capsys.readouterr().out == "Train Loss: 0.09\n"
    logger.dump(index=[0, 2], indent=1, border="---")
    assert capsys.readouterr().out == "---\n\tIteration: [1, 3]\n\tTrain Loss: [0.12, 0.09]\n---\n"


def test_errors_save_and_clear(tmp_path, capsys):
    logger = make_logger()
    with pytest.raises(KeyError, match="not logged"):
        logger.dump(keys=["nope"])
    with pytest.raises(IndexError, match=r"index \[3\] out of range for 'iteration', which has 3 logged value"):
        logger.dump(index=[0, 3], border="---")
    assert capsys.readouterr().out == ""  # refused before anything is printed
    with pytest.raises(IndexError, match=r"index \[-4\] out of range"):
        logger.dump(index=-4)
    with pytest.raises(TypeError, match="keys must be a list"):
        logger.dump(keys="iteration")
    with pytest.raises(TypeError, match="key must be a str"):
        logger(1, 2)
    assert logger.save(tmp_path / "plain").name == "plain.pkl"  # lagom's suffix, like pickle_dump
    path = logger.save(tmp_path / "logs.pkl")
    assert pickle_load(path) == {"iteration": [1, 2, 3], "train_loss": [0.12, 0.11, 0.09]}
    assert logger["iteration"] == [1, 2, 3] and "iteration" in logger
    logger.clear()
    assert logger.logs == {}
