"""Command-line flags from a frozen config dataclass: ``--field-name value`` for every field."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys

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


def field_comments(config_cls) -> dict:
    """``{field: its trailing comment}`` from the source of ``config_cls`` and its bases."""
    out = {}
    for cls in reversed(config_cls.__mro__):
        try:
            lines = inspect.getsource(cls).splitlines()
        except (OSError, TypeError):
            continue
        for line in lines:
            m = re.match(r"\s+(\w+)\s*:[^=#]*=[^#]*#\s*(.+)$", line)
            if m:
                out[m.group(1)] = m.group(2).strip()
    return out


def _type_name(default) -> str:
    return "bool" if isinstance(default, bool) else "ints" if isinstance(default, tuple) else type(default).__name__


def _from_file(path) -> tuple[dict, dict]:
    """Config fields from a YAML file, a mapping of fields, a run's ``run.yml`` (its ``config``) or a
    ``config.yml`` of lagom's layout (a search's trial), and the run's own settings (``num_seeds``,
    ``seed``, ``init_from`` and the command line's ``settings``: evaluation cadence, plot, trackers)
    where it is a ``run.yml``."""
    from lagomjax.utils import yaml_load

    data, run = yaml_load(path), {}
    if isinstance(data, dict) and isinstance(data.get("config"), dict) and "algorithm" in data:
        run = {k: data[k] for k in ("num_seeds", "seed", "init_from") if data.get(k) is not None}
        run |= data.get("settings") or {}
        data = data["config"]
    if not isinstance(data, dict):
        raise ValueError(f"--config {path}: expected a YAML mapping of config fields, got {type(data).__name__}")
    data.pop("ID", None)  # lagom's layout, <run>/<ID>/config.yml (a search's trial): the config's number there
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}, run


def build_parser(config_cls, description=None, prog=None, **extra_flags) -> argparse.ArgumentParser:
    """The parser of :func:`config_from_args`: every field as a flag with its type, default, meaning
    (the field's comment) and choices; ``extra_flags`` are ``name=(default, help)``."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", metavar="FILE", help="YAML file of config fields (a run's run.yml too); "
                        "flags given on the command line override it")  # fmt: skip
    comments = field_comments(config_cls)
    choices = getattr(config_cls, "choices", {})  # named settings: field -> allowed values
    for f in dataclasses.fields(config_cls):
        names = [f"--{f.name.replace('_', '-')}"] + (["--env"] if f.name == "env_id" else [])
        meaning = comments.get(f.name, "")
        if f.name in choices:
            meaning = f"{meaning}; one of {', '.join(choices[f.name])}"
        parser.add_argument(*names, dest=f.name, type=_parser_type(f.default), default=f.default,
                            choices=choices.get(f.name), metavar=_type_name(f.default).upper(),
                            help=f"{meaning} ({_type_name(f.default)}, default: {f.default!r})".strip())  # fmt: skip
    for name, (default, meaning) in extra_flags.items():
        kind = str if default is None else parse_bool if isinstance(default, bool) else type(default)
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=default,
                            help=f"{meaning} (default: {default!r})".strip())  # fmt: skip
    return parser


def config_from_args(config_cls, argv=None, description=None, prog=None, **extra_flags):
    """Parse ``--field-name value`` for every field of the frozen dataclass ``config_cls``.

    ``extra_flags`` are ``name=default`` (or ``name=(default, help)``) pairs for script-level flags
    (``num_seeds``, ``log_dir``). ``env_id`` also answers to ``--env``; ``--config FILE`` reads
    fields from YAML first (from a run's ``run.yml`` also its ``num_seeds`` and ``seed``, where they
    are extra flags), and flags given on the command line override it. Returns
    ``(config, extras)``; ``extras['_given']`` is the set of fields set on the command line or in
    the file. An invalid config (``__post_init__`` raises ``ValueError`` or ``TypeError``) is a
    usage error naming the field.
    """
    extra_flags = {k: v if isinstance(v, tuple) else (v, "") for k, v in extra_flags.items()}
    parser = build_parser(config_cls, description, prog, **extra_flags)
    argv = list(argv) if argv is not None else None
    args = vars(parser.parse_args(argv))
    words = {w.split("=", 1)[0] for w in (argv if argv is not None else sys.argv[1:])}
    given = {a.dest for a in parser._actions if words & set(a.option_strings)}
    path = args.pop("config")
    given.discard("config")
    if path is not None:
        try:
            from_file, run = _from_file(path)
        except (OSError, ValueError) as e:
            parser.error(str(e))
        unknown = sorted(set(from_file) - {f.name for f in dataclasses.fields(config_cls)})
        if unknown:
            parser.error(f"--config {path}: unknown fields {unknown}")
        from_file |= {k: v for k, v in run.items() if k in extra_flags}  # a run.yml's seeds and settings, as flags
        args.update({k: v for k, v in from_file.items() if k not in given})
        given |= set(from_file)
    extras = {name: args.pop(name) for name in extra_flags}
    extras["_given"] = given
    try:
        return config_cls(**args), extras
    except (TypeError, ValueError) as e:
        parser.error(str(e))
