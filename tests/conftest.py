"""Test-wide settings. One JAX persistent compilation cache for the whole session, in a temporary
directory shared by the xdist workers and the subprocesses tests start (a program several tests
compile, such as the same config's training chunk, compiles once), removed at the end. Tests never
write to ~/.cache; a test that checks the cache itself passes its own directory
(tests/train/test_compile_cache.py). ``LAGOMJAX_COMPILE_CACHE`` set outside (a directory, or
``off``) is kept."""

import os
import shutil
import tempfile

_OWN = "LAGOMJAX_TEST_OWNS_CACHE"


def pytest_configure(config):
    if "LAGOMJAX_COMPILE_CACHE" not in os.environ:  # the controller (or a run without xdist)
        os.environ["LAGOMJAX_COMPILE_CACHE"] = tempfile.mkdtemp(prefix="lagomjax-test-jax-cache-")
        os.environ[_OWN] = str(os.getpid())
    from lagomjax.utils import enable_compile_cache

    enable_compile_cache(min_compile_s=0.5)


def pytest_unconfigure(config):
    if os.environ.get(_OWN) == str(os.getpid()):
        shutil.rmtree(os.environ["LAGOMJAX_COMPILE_CACHE"], ignore_errors=True)
