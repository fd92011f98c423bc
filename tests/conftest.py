"""Test-wide settings: the command line's persistent compilation cache stays off unless a test turns
it on (tests/train/test_compile_cache.py), so tests never write to ~/.cache."""

import os

os.environ.setdefault("LAGOMJAX_COMPILE_CACHE", "off")
