import importlib
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))  # the examples are scripts, importable from their folder


def load_example(name):
    """Import ``examples/<name>.py`` as the module ``name``."""
    return importlib.import_module(name)
