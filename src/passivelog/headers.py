"""ASGI header names and values as bytes, whatever type an app handed them in."""

from __future__ import annotations


def header_bytes(value: object) -> bytes:
    """``value`` as the bytes a server would send; ``TypeError`` when it is not text or bytes.

    ASGI says bytes, but some servers accept ``str`` (h11 does) and apps send it.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        # Latin-1 is how servers map header bytes to str; text beyond it goes out as UTF-8 (an
        # ad cookie must still be recognised). UnicodeEncodeError is a ValueError.
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            return value.encode("utf-8")
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"not bytes: {type(value).__name__}")


__all__ = ["header_bytes"]
