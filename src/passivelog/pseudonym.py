"""Keyed pseudonyms: the only form in which identifiers (cookie values, hashed IPs) are logged."""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import warnings
from collections.abc import Mapping
from typing import Final

SECRET_ENV: Final = "PASSIVELOG_SECRET"
MIN_SECRET_BYTES: Final = 16

# 128 bits of the HMAC output: collisions stay negligible for any realistic number of visitors
# (birthday bound ~2**64) while keeping the pseudonym short (22 URL-safe characters).
_PSEUDONYM_BYTES: Final = 16


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

    __slots__ = ("_keys", "_root")

    def __init__(self, secret: str | bytes) -> None:
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
        self._keys: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "Pseudonymiser(secret=<hidden>)"

    def _key(self, purpose: str) -> bytes:
        key = self._keys.get(purpose)
        if key is None:
            key = hmac.digest(self._root, b"passivelog/v1/" + purpose.encode("ascii"), "sha256")
            self._keys[purpose] = key
        return key

    def pseudonym(self, value: str, purpose: str) -> str:
        """Return the pseudonym of ``value`` for ``purpose``; total for any string."""
        digest = hmac.digest(
            self._key(purpose), value.encode("utf-8", "surrogatepass"), "sha256"
        )
        return base64.urlsafe_b64encode(digest[:_PSEUDONYM_BYTES]).rstrip(b"=").decode("ascii")


def pseudonymiser_from(secret: str | bytes | None, environ: Mapping[str, str] = os.environ) -> Pseudonymiser:
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
