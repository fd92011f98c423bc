"""Saving and restoring a whole train state (parameters, optimiser states, env states, normaliser
moments, typed PRNG keys, replay buffers) with the metrics so far, atomically and safely.

The state goes to the host as a list of NumPy leaves (typed keys as their raw data); restoring
needs a state of the same structure (e.g. a fresh ``init``) that says the shapes, dtypes and which
leaves are keys.

The file holds arrays and plain data only, never pickle, so loading one cannot run code: a magic
line, a format version, the SHA-256 of the payload, then the payload in msgpack (flax's
serialisation: dicts, lists, strings, numbers and NumPy arrays). A file that is empty, truncated,
altered or not a checkpoint is refused with a ``ValueError`` naming it. ``meta`` (what the run is,
e.g. its full config) is stored as JSON and compared on restore field by field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from lagomjax.utils import atomic_open

MAGIC = b"lagomjax-checkpoint\n"
VERSION = 1
_HEADER = len(MAGIC) + 4 + 32  # magic, version (uint32 little-endian), sha256 of the payload


def _is_key(x) -> bool:
    return jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def to_host(state) -> list[np.ndarray]:
    """A train state's leaves as NumPy arrays (typed PRNG keys as their raw data)."""
    return [np.asarray(jax.random.key_data(x) if _is_key(x) else x) for x in jax.tree.leaves(state)]


def _wrap_key(i, x, like):
    """Key data ``x`` as typed keys of ``like``'s implementation. A shape-only ``like``
    (``jax.ShapeDtypeStruct``) names no implementation: the default one, which must give its dtype."""
    if isinstance(like, jax.Array):
        return jax.random.wrap_key_data(x, impl=jax.random.key_impl(like))
    default = jax.eval_shape(jax.random.key, 0).dtype
    if default != like.dtype:
        raise ValueError(f"checkpoint leaf {i}: a shape-only target of {like.dtype} keys (restore into the default "
                         f"{default} or pass a concrete state)")  # fmt: skip
    return jax.random.wrap_key_data(x)


def from_host(like, leaves):
    """Rebuild a state shaped like ``like`` (which also says which leaves are keys) from
    :func:`to_host`'s output; a leaf of another shape or dtype kind raises. ``like`` may be
    shapes only (``jax.eval_shape`` of the state's init), so that nothing compiles to restore."""
    ref, treedef = jax.tree.flatten(like)
    if len(ref) != len(leaves):
        raise ValueError(f"checkpoint has {len(leaves)} leaves, the train state {len(ref)}")
    out = []
    for i, (r, x) in enumerate(zip(ref, leaves, strict=True)):
        x, key = np.asarray(x), _is_key(r)
        want = jax.eval_shape(jax.random.key_data, r) if key else r  # keys: their raw data
        if x.dtype != want.dtype:
            raise ValueError(f"checkpoint leaf {i} has dtype {x.dtype}, the train state's is {want.dtype}")
        if x.shape != want.shape:
            raise ValueError(f"checkpoint leaf {i} of shape {x.shape} does not match the train state's {want.shape}")
        out.append(_wrap_key(i, x, r) if key else jnp.asarray(x, r.dtype))
    return jax.tree.unflatten(treedef, out)


def _plain(x):
    """``x`` with tuples as lists and NumPy scalars as Python numbers (what msgpack and JSON store)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, jax.Array):
        return np.asarray(x)
    return x


def config_fingerprint(config) -> dict:
    """A config as plain data, with its class, for a checkpoint's record of what the run is."""
    fields = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(vars(config))
    return {"class": f"{type(config).__module__}.{type(config).__qualname__}", **fields}


def save(path, state, meta: dict, **extra) -> Path:
    """Write ``state`` with ``meta`` (what the run is: compared on restore) and any ``extra`` host data
    (metrics so far as dicts/lists of arrays, counters) to ``path``, atomically."""
    try:
        meta_json = json.dumps(_plain(meta), sort_keys=True)
    except TypeError as e:
        raise TypeError(f"checkpoint meta must hold plain data (numbers, strings, lists, dicts): {e}") from e
    payload = serialization.msgpack_serialize(
        {"meta": meta_json, "state": {str(i): x for i, x in enumerate(to_host(state))}, "extra": _plain(extra)}
    )
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fh.write(MAGIC + VERSION.to_bytes(4, "little") + hashlib.sha256(payload).digest() + payload)
    return path


def load(path) -> dict:
    """The checked contents of a checkpoint file: ``{'meta', 'state' (list of leaves), 'extra'}``.
    Raises ``ValueError`` naming ``path`` if it is not an intact checkpoint of a known version."""
    path = Path(path)
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ValueError(
            f"{path} is not a lagomjax checkpoint ({len(data)} bytes; empty, truncated, or another format, "
            "e.g. a pickle from lagomjax < 0.2, which is never loaded)"
        )
    if len(data) < _HEADER:
        raise ValueError(f"{path} is a truncated checkpoint ({len(data)} bytes, header alone is {_HEADER})")
    version = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "little")
    if version != VERSION:
        raise ValueError(f"{path} is checkpoint format version {version}; this lagomjax reads version {VERSION}")
    digest, payload = data[len(MAGIC) + 4 : _HEADER], data[_HEADER:]
    if hashlib.sha256(payload).digest() != digest:
        raise ValueError(f"{path} is corrupt: its content does not match its SHA-256 (truncated or altered)")
    try:
        raw = serialization.msgpack_restore(payload)
    except Exception as e:  # noqa: BLE001 (a payload that hashes right but does not parse: report the file)
        raise ValueError(f"{path} could not be decoded: {e}") from e
    state = [raw["state"][str(i)] for i in range(len(raw["state"]))]
    return {"meta": json.loads(raw["meta"]), "state": state, "extra": raw["extra"]}


def differences(saved: dict, current: dict, prefix: str = "") -> list[str]:
    """The keys (dotted for nested dicts) whose values differ between two metas, each as
    ``'key: saved -> current'``."""
    out = []
    for key in sorted(set(saved) | set(current)):
        a, b = saved.get(key, "<absent>"), current.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


def check(path, meta: dict, allow_changes=()) -> dict:
    """:func:`load`'s contents, after checking that the stored ``meta`` equals ``meta``: raises
    ``ValueError`` naming every field where they differ, except top-level or dotted keys listed in
    ``allow_changes`` (settings the caller knows may change). Needs no state, so a caller can refuse
    a checkpoint before building (or compiling) anything."""
    saved = load(path)
    current = json.loads(json.dumps(_plain(meta), sort_keys=True))
    diff = [d for d in differences(saved["meta"], current) if not _allowed(d, allow_changes)]
    if diff:
        raise ValueError(
            f"checkpoint {path} was written by a run with other settings; refusing to resume it with:\n  "
            + "\n  ".join(diff)
        )
    return saved


def restore(path, like, meta: dict, allow_changes=()):
    """``(state, extra)`` from :func:`save`'s file, the state rebuilt like ``like``, after
    :func:`check` (the same ``ValueError`` for other settings)."""
    saved = check(path, meta, allow_changes)
    return from_host(like, saved["state"]), saved["extra"]


def _allowed(diff: str, allow_changes) -> bool:
    key = diff.split(":", 1)[0]
    return any(key == a or key.startswith(f"{a}.") or key.endswith(f".{a}") for a in allow_changes)
