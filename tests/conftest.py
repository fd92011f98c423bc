"""Test-wide settings. One JAX persistent compilation cache for the whole session, in a temporary
directory shared by the xdist workers and the subprocesses tests start (a program several tests
compile, such as the same config's training chunk, compiles once), removed at the end. Tests never
write to ~/.cache; a test that checks the cache itself passes its own directory
(tests/train/test_compile_cache.py). ``LAGOMJAX_COMPILE_CACHE`` set outside (a directory, or
``off``) is kept. MuJoCo renders headless through EGL (``MUJOCO_GL``, read when MuJoCo is
imported) unless the variable is set."""

import os
import shutil
import tempfile

_created = None  # the directory this process made (the controller's, or a run without xdist)


def pytest_configure(config):
    global _created
    os.environ.setdefault("MUJOCO_GL", "egl")  # before any test imports MuJoCo (workers inherit it)
    if "LAGOMJAX_COMPILE_CACHE" not in os.environ:  # workers and subprocesses inherit the variable
        _created = os.environ["LAGOMJAX_COMPILE_CACHE"] = tempfile.mkdtemp(prefix="lagomjax-test-jax-cache-")
    from lagomjax.utils import enable_compile_cache

    enable_compile_cache(min_compile_s=0.5)


def pytest_collection_modifyitems(config, items):
    """The tests marked slow run first (a stable sort: the rest keep their order), so the xdist
    workers end on short tests together instead of one waiting out the other's last long one."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_unconfigure(config):
    if _created is not None:
        shutil.rmtree(_created, ignore_errors=True)
