"""Command-line flags from a frozen config dataclass: ``--field-name value`` for every field."""

from __future__ import annotations

import argparse
import dataclasses

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_bool(s: str) -> bool:
    """``true/false``, ``yes/no``, ``on/off``, ``1/0`` (any case); anything else is an error."""
    if s.lower() in _TRUE:
        return True
    if s.lower() in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean ({'/'.join(_TRUE)} or {'/'.join(_FALSE)}), got {s!r}")


def parse_ints(s: str) -> tuple:
    """``"64,64"`` -> ``(64, 64)``."""
    try:
        return tuple(int(v) for v in s.split(",") if v.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from e


def _parser_type(default):
    if isinstance(default, bool):
        return parse_bool
    if isinstance(default, tuple):
        return parse_ints
    return type(default)


def config_from_args(config_cls, argv=None, description=None, prog=None, **extra_flags):
    """Parse ``--field-name value`` for every field of the frozen dataclass ``config_cls``.

    ``extra_flags`` are ``name=default`` pairs for script-level flags (``num_seeds``, ``log_dir``).
    ``env_id`` also answers to ``--env``. Returns ``(config, extras)``. An invalid config (the
    dataclass's ``__post_init__`` raises ``ValueError``) is reported as a usage error.
    """
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for f in dataclasses.fields(config_cls):
        names = [f"--{f.name.replace('_', '-')}"] + (["--env"] if f.name == "env_id" else [])
        parser.add_argument(*names, dest=f.name, type=_parser_type(f.default), default=f.default,
                            help=f"(default: {f.default!r})")  # fmt: skip
    for name, default in extra_flags.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=type(default), default=default,
                            help=f"(default: {default!r})")  # fmt: skip
    args = vars(parser.parse_args(argv))
    extras = {name: args.pop(name) for name in extra_flags}
    try:
        return config_cls(**args), extras
    except (TypeError, ValueError) as e:
        parser.error(str(e))
