"""Keyed pseudonyms: RFC 2104 HMAC-SHA256, domain-separated per purpose, secret never shown."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passivelog.pseudonym import EphemeralSecretWarning, Pseudonymiser, pseudonymiser_from

SECRET = "pseudonym-test-secret-0123456789"


@given(st.text(max_size=300), st.sampled_from(["cookie", "ip", "ad"]))
def test_digest_is_standard_hmac_sha256_under_the_purpose_key(value: str, purpose: str) -> None:
    key = hmac.digest(SECRET.encode(), b"passivelog/v1/" + purpose.encode(), "sha256")
    expected = hmac.digest(key, value.encode("utf-8", "surrogatepass"), "sha256")
    assert Pseudonymiser(SECRET).digest(value, purpose) == expected


def test_same_value_same_pseudonym_other_purpose_or_key_differs() -> None:
    one = Pseudonymiser(SECRET)
    assert one.pseudonym("abc", "cookie") == one.pseudonym("abc", "cookie")
    assert one.pseudonym("abc", "cookie") != one.pseudonym("abc", "ip")
    assert one.pseudonym("abc", "cookie") != Pseudonymiser(SECRET + "x").pseudonym("abc", "cookie")


def test_pseudonym_is_short_and_url_safe() -> None:
    value = Pseudonymiser(SECRET).pseudonym("visitor", "cookie")
    assert len(value) == 22
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "secret", ["", "   ", b"", "short"], ids=["empty", "blank", "bytes", "short"]
)
def test_weak_secrets_are_refused(secret: str | bytes) -> None:
    with pytest.raises(ValueError, match="secret"):
        Pseudonymiser(secret)


def test_secret_is_never_shown() -> None:
    assert SECRET not in repr(Pseudonymiser(SECRET))
    with pytest.raises(ValueError) as error:
        Pseudonymiser("tiny-secret")
    assert "tiny-secret" not in str(error.value)


def test_environment_secret_and_ephemeral_fallback() -> None:
    from_env = pseudonymiser_from(None, {"PASSIVELOG_SECRET": SECRET})
    assert from_env.pseudonym("x", "ip") == Pseudonymiser(SECRET).pseudonym("x", "ip")
    with pytest.warns(EphemeralSecretWarning):
        pseudonymiser_from(None, {})
