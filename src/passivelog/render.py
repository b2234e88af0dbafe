"""Render a record as one JSON line, whatever strings it holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        # Lone surrogates (from undecodable bytes) are not valid UTF-8 and orjson refuses them.
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        # orjson encodes 64-bit integers only; larger ones are written as their digits.
        return value if -(2**63) <= value < 2**64 else str(value)
    return str(value)


def _dumps(value: Any, option: int = 0) -> bytes:
    # orjson refuses lone surrogates and integers beyond 64 bits: such values are cleaned, and
    # the whole value is encoded again.
    try:
        return orjson.dumps(value, option=option)
    except (TypeError, ValueError):
        return orjson.dumps(_clean(value), option=option)


def to_json_line(record: Mapping[str, Any]) -> bytes:
    """Return ``record`` as one JSON object terminated by ``\\n``.

    Never raises for a record of strings, numbers, booleans, lists and mappings: values orjson
    cannot encode are cleaned and encoded again. orjson escapes ``\\n`` and ``\\r`` inside strings,
    so the only newline in the output is the terminator.
    """
    return _dumps(record, orjson.OPT_APPEND_NEWLINE)


def json_string(value: str) -> bytes:
    """Return ``value`` as a JSON string, quotes included, as :func:`to_json_line` writes it."""
    return _dumps(value)


def json_members(record: Mapping[str, Any]) -> bytes:
    """Return the members of ``record`` as they appear inside its JSON object, each preceded by
    a comma (``b',"a":1,"b":"x"'``), or ``b""`` for an empty mapping.

    Appended after other members, they give the same bytes :func:`to_json_line` would write for
    the whole record.
    """
    if not record:
        return b""
    return b"," + _dumps(record)[1:-1]  # without "{" and "}"
