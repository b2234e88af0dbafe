"""Keyed pseudonyms: the only form in which identifiers (cookie values, hashed IPs) are logged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import warnings
from collections.abc import Mapping
from typing import Any, Final

SECRET_ENV: Final = "PASSIVELOG_SECRET"
MIN_SECRET_BYTES: Final = 16

# 128 bits of the HMAC output: collisions stay negligible for any realistic number of visitors
# (birthday bound ~2**64) while keeping the pseudonym short (22 URL-safe characters).
_PSEUDONYM_BYTES: Final = 16
_SHA256_BLOCK: Final = 64


class EphemeralSecretWarning(UserWarning):
    """No secret was configured: pseudonyms change whenever the process restarts."""


class Pseudonymiser:
    """Turns identifiers into stable, keyed, URL-safe pseudonyms.

    Why a keyed HMAC-SHA256 and not a plain hash: cookie values and IPv4 addresses have little
    entropy or are guessable, so an unkeyed hash is reversed by enumeration (see the EDPB's
    guidelines on pseudonymisation, 01/2025, section 3). Without the key the pseudonym cannot be
    recomputed; with it, the same value always maps to the same pseudonym.

    Each purpose ("cookie", "ip", "ad") gets its own key derived from the secret, so the same value
    seen as a cookie and as an IP gives unrelated pseudonyms and records cannot be joined across
    purposes (domain separation, as in NIST SP 800-108).

    Args:
        secret: at least 16 bytes (or characters) of secret material.
    """

    __slots__ = ("_pads", "_root")

    def __init__(self, secret: str | bytes) -> None:
        if not isinstance(secret, str | bytes | bytearray):
            # bytes(123) would be 123 zero bytes: a key anyone can guess.
            raise ValueError(
                f"secret must be text or bytes, not {type(secret).__name__}: pass the secret "
                "itself, e.g. secret=os.environ['APP_LOG_SECRET']"
            )
        root = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if not root.strip():
            raise ValueError(
                "secret is empty: pass secret= (or set PASSIVELOG_SECRET) to at least "
                f"{MIN_SECRET_BYTES} bytes of random text, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        if len(root) < MIN_SECRET_BYTES:
            raise ValueError(
                f"secret is too short ({len(root)} bytes): use at least {MIN_SECRET_BYTES} bytes "
                "of random text so that pseudonyms cannot be brute-forced"
            )
        self._root = root
        self._pads: dict[str, tuple[Any, Any]] = {}

    def __repr__(self) -> str:
        return "Pseudonymiser(secret=<hidden>)"

    def _pads_for(self, purpose: str) -> tuple[Any, Any]:
        pads = self._pads.get(purpose)
        if pads is None:
            key = hmac.digest(self._root, b"passivelog/v1/" + purpose.encode("ascii"), "sha256")
            # RFC 2104 section 4 ("Implementation note"): the hash states after absorbing
            # K xor ipad and K xor opad can be computed once per key and copied per message.
            # Same output as hmac.digest (a test checks it), ~3x cheaper than its per-call setup.
            block = key.ljust(_SHA256_BLOCK, b"\0")
            pads = (
                hashlib.sha256(bytes(b ^ 0x36 for b in block)),
                hashlib.sha256(bytes(b ^ 0x5C for b in block)),
            )
            self._pads[purpose] = pads
        return pads

    def digest(self, value: str, purpose: str) -> bytes:
        """HMAC-SHA256 of ``value`` under the key derived for ``purpose``."""
        inner_pad, outer_pad = self._pads_for(purpose)
        inner = inner_pad.copy()
        inner.update(value.encode("utf-8", "surrogatepass"))
        outer = outer_pad.copy()
        outer.update(inner.digest())
        return outer.digest()  # type: ignore[no-any-return]

    def pseudonym(self, value: str, purpose: str) -> str:
        """Return the pseudonym of ``value`` for ``purpose``; total for any string."""
        digest = self.digest(value, purpose)
        # 16 bytes encode to 22 characters and "==" padding, which is cut off.
        return base64.urlsafe_b64encode(digest[:_PSEUDONYM_BYTES])[:22].decode("ascii")


def pseudonymiser_from(
    secret: str | bytes | None, environ: Mapping[str, str] = os.environ
) -> Pseudonymiser:
    """Build the pseudonymiser from ``secret``, else ``PASSIVELOG_SECRET``, else a random key.

    With neither, one :class:`EphemeralSecretWarning` says that pseudonyms will change at restart.
    """
    if secret is None:
        secret = environ.get(SECRET_ENV)
    if secret is None:
        warnings.warn(
            "passivelog: no secret configured (secret= or PASSIVELOG_SECRET); using a random "
            "per-process key, so cookie and IP pseudonyms change whenever the process restarts",
            EphemeralSecretWarning,
            stacklevel=3,
        )
        secret = secrets.token_bytes(32)
    return Pseudonymiser(secret)
