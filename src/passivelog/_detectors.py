"""Value detectors: find personal data and secrets in one decoded URL component.

Private to :mod:`passivelog.scrub`. Everything here works on plain text that has already been
percent-decoded; the caller splits the URL, decodes, and re-encodes what it gets back.

Why it is built this way: a payment-card search written as one regex over digits with optional
separators goes cubic on ``1-1-1-…`` input, and naive e-mail, phone and token patterns take
0.5 to 0.7 s on 16 KB of pathological input (see FACTS "Hostile input"). So each pattern below is
only a *candidate finder* whose repetitions are possessive (``++``, ``{m,n}+``) or bounded and
anchored by lookbehinds at the start of a run, which makes every search linear in the length of
the text. Whether a candidate really is a card, an IBAN or a phone number is then decided in
Python (Luhn, mod-97, digit counts), where the rules can be read and tested one by one.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import math
import re
import string
from typing import Final

# Rule names (``value:<kind>``) and the placeholder each kind leaves behind.
PLACEHOLDERS: Final[dict[str, str]] = {
    "email": "[email]",
    "phone": "[phone]",
    "card": "[card]",
    "iban": "[iban]",
    "ssn": "[ssn]",
    "ip": "[ip]",
    "jwt": "[jwt]",
    "bearer": "[secret]",
    "basic": "[secret]",
    "aws_key": "[secret]",
    "google_key": "[secret]",
    "stripe_key": "[secret]",
    "github_token": "[secret]",
    "slack_token": "[secret]",
    "token": "[token]",
}

# Candidate matches examined per scrub call. Real URLs have a handful; a hostile one can have
# thousands, each costing a few microseconds of Python. Past the budget the caller replaces the
# rest with a placeholder instead of looking further (bounded work, see module docstring).
MAX_CANDIDATES: Final = 64


class OverBudget(Exception):
    """The candidate budget of this scrub call is spent."""


class Budget:
    """Candidate matches left for one scrub call."""

    __slots__ = ("left",)

    def __init__(self, left: int = MAX_CANDIDATES) -> None:
        self.left = left

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise OverBudget


Span = tuple[int, int, str]  # start, end, kind; or for "bearer"/"basic" the credential's span

# --- candidate patterns -----------------------------------------------------------------------

# E-mail: RFC 5322 atext for the local part, minus the URL delimiters # % & / = ? (which occur in
# practice only as URL syntax around an address), plus any Unicode word character because
# RFC 6531 (SMTPUTF8) allows UTF-8 local parts and IDN domains. The lookbehind makes a match start
# only at the start of a run, and the possessive quantifiers never give characters back, so a
# long run without "@" is read once.
_LOCAL = r"[\w.!$'*+\-^`{|}~]"
_EMAIL = rf"(?P<email>(?<!{_LOCAL}){_LOCAL}++@[\w\-]++(?:\.[\w\-]++)++)"

# JWT (RFC 7519, compact JWS serialisation, RFC 7515 section 7.1): three base64url parts; the
# header is a JSON object, so it always starts with "eyJ" (base64 of '{"').
_B64U = r"[A-Za-z0-9_\-]"
_JWT = rf"(?P<jwt>(?<!{_B64U})eyJ{_B64U}{{2,}}+\.{_B64U}{{2,}}+\.{_B64U}*+)"

# Authorization credentials pasted into a URL: "Bearer <b64token>" (RFC 6750 section 2.1) and
# "Basic <base64(user:password)>" (RFC 7617). Only the credential is replaced.
_BEARER = r"(?P<bearer>\b(?i:bearer|basic)[ \t]++(?P<cred>[A-Za-z0-9\-._~+/]{8,}+=*+))"

# IPv6 (RFC 4291 section 2.2, including the IPv4-embedded form): a run of hex digits, colons and
# dots that has two colons among its first characters; ipaddress decides.
_IPV6 = r"(?P<ipv6>(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:.]{2,45}+(?![\w:]))"

# IPv4 dotted quad. Not after a word character or a dot, so "v1.2.3.4" (a version) and the middle
# of a longer dotted number are left alone.
_IPV4 = r"(?P<ipv4>(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9]))"

# IBAN (ISO 13616): country code, two check digits, then 11 to 30 letters or digits, printed in
# groups of four or not at all. Greedy but bounded, so backtracking is bounded too. At the top
# level it must not start or end inside a longer base64url run (a token that happens to begin
# with two letters and two digits); inside a run that is not a token, "-" and "_" delimit it.
_IBAN_BODY = r"[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11,30}"
_IBAN = rf"(?P<iban>(?<![A-Za-z0-9_\-]){_IBAN_BODY}(?![A-Za-z0-9_\-]))"
_IBAN_INNER = rf"(?P<iban>(?<![A-Za-z0-9]){_IBAN_BODY}(?![A-Za-z0-9]))"

# Digit groups: phone numbers, card numbers and SSNs. At most 8 groups of up to 19 digits, joined
# by one to three of space, dot, dash, or the "(0)" of a trunk prefix; the groups after the first
# have two digits or more. A first group has two digits or more too, unless it follows "+" or "("
# (a country code such as "+1"): every card, SSN and national number starts that way, and it lets
# "1-1-1-…" fail at its first character. A single group needs 8 digits or more. With possessive
# repetitions every character is read a bounded number of times.
_NUM = (
    r"(?P<num>(?<![\w+])"
    r"(?:\+[0-9]{1,19}+|\(\+?[0-9]{1,19}+\)?|[0-9]{2,19}+\)?)"
    r"(?:(?:(?:[ .\-]|\(0\)){1,3}+\(?[0-9]{2,19}+\)?){1,7}+|(?<=[0-9]{8}))"
    r"(?![A-Za-z0-9_]))"
)

# Long runs of the base64url alphabet: key formats with a known prefix, or random-looking tokens.
_TOK = rf"(?P<tok>(?<!{_B64U}){_B64U}{{20,}}+=*+)"

_ALTERNATIVES = (_EMAIL, _JWT, _BEARER, _IPV6, _IPV4, _IBAN, _NUM, _TOK)
_EMAIL_BIT, _JWT_BIT, _BEARER_BIT, _IPV6_BIT, _IPV4_BIT, _IBAN_BIT, _NUM_BIT, _TOK_BIT = (
    1 << i for i in range(len(_ALTERNATIVES))
)


@functools.lru_cache(maxsize=1 << len(_ALTERNATIVES))
def _candidates(mask: int) -> re.Pattern[str]:
    return re.compile("|".join(alt for i, alt in enumerate(_ALTERNATIVES) if mask >> i & 1))


# Python's regex engine tries every alternative at every position, about 0.2 us per character
# for all eight. Cheap scans in C first rule out the alternatives that cannot match at all (no
# "@", no digit, no run of 20 base64url characters ...), so most text meets a short pattern or
# none, and 8 KB of "&&&&" or "a.a.a." costs microseconds.
_DIGIT = re.compile(r"[0-9]")
_TWO_DIGITS = re.compile(r"[0-9]{2}")
_LONG_RUN = re.compile(r"[A-Za-z0-9_\-]{20}")
_AUTH_SCHEME = re.compile(r"(?i:bearer|basic)[ \t]")


def _triggers(text: str) -> int:
    mask = 0
    if "@" in text:
        mask |= _EMAIL_BIT
    if "eyJ" in text:
        mask |= _JWT_BIT
    if (" " in text or "\t" in text) and _AUTH_SCHEME.search(text):
        mask |= _BEARER_BIT
    if text.count(":") >= 2:
        mask |= _IPV6_BIT
    if "." in text and _DIGIT.search(text):
        mask |= _IPV4_BIT
    if _TWO_DIGITS.search(text):  # every IBAN, card, SSN and phone number has two in a row
        mask |= _NUM_BIT | _IBAN_BIT
    if _LONG_RUN.search(text):
        mask |= _TOK_BIT
    return mask


# A text that is one run of the base64url alphabet, 20 characters or more (a slug, a file name,
# an id, a token), meets only _TOK: e-mail, JWT, "Bearer" and IP addresses need "@", ".", a space
# or ":"; a digit group starts with a digit, "+" or "("; an IBAN would start with two letters and
# two digits. Starting otherwise, the run is one candidate, the whole text, and find() takes it
# without the scan (which would find that candidate first and nothing after it).
_ONE_RUN: Final = re.compile(r"(?![A-Za-z]{2}[0-9]{2})[A-Za-z_\-][A-Za-z0-9_\-]{19,}+")

# Inside a run of the base64url alphabet that is not a token, only IBANs and digit groups can
# still hide ("order-4111111111111111"): no other detector's characters fit in such a run.
_INSIDE_RUN: Final = re.compile(f"{_IBAN_INNER}|{_NUM}")
# What every match of _INSIDE_RUN contains, searched for first: a digit group in a run is 8 digits,
# or two digits or more, one to three "-" (no space, "." or "(" fits in a run) and two digits or
# more; an IBAN in a run is two letters, two digits and 11 more letters or digits. Each has two
# digits in a row, so this never sends a run on where that test (the one it replaces) would not;
# and "bike-lamp-80654", "sale-2024" or "1-1-1-1" meet none of it.
_INSIDE_HINT: Final = re.compile(
    r"[0-9]{2}(?:[0-9]{6}|-{1,3}[0-9]{2}|(?<=[A-Za-z]{2}[0-9]{2})[A-Za-z0-9]{11})"
)

# --- text that no candidate pattern can match -----------------------------------------------------

# Most query values and path segments are words, slugs, small numbers and codes ("winter+boots",
# "spring_sale_2024", "price_asc"). For text made only of letters, digits, "-", "_", "." and "+",
# every candidate pattern above can be ruled out from its shape, whether "+" is read as a plus sign
# or as a space (the two readings redact() searches):
#
# - e-mail needs "@", IPv6 two ":"; neither is in that alphabet;
# - a JWT has two "." and a dotted quad three: at most one "." is allowed;
# - a token, and every vendor key format (searched for only inside one), is a run of 20 or more
#   base64url characters: "." and "+" must cut the text into runs of at most 19;
# - "Bearer"/"Basic" needs a space or tab after it: no "+" may follow either word;
# - a digit group (phone, card, SSN) is 8 digits in a row, or a digit, separators (". -" and "+"
#   as a space) and another digit; "(" and ")" are not in the alphabet;
# - an IBAN starts with two letters and two digits, at the start of the text or after "." or "+"
#   (its lookbehind rules out a start after a letter, a digit, "-" or "_").
#
# Text that passes yields no candidate match at all, so the scan would find nothing and spend no
# budget: skipping it gives the same result as running it, not an approximation of it. Such text
# also has nothing to percent-decode ("%") and cannot be a nested URL, query or JSON document
# ("/", "?", ":", "=", "{", "["). The grammar below reads the text once, a word, a digit run or a
# separator at a time; every repetition is possessive or bounded, each lookahead reads at most
# four characters or a run of separators, the one after "." up to a second "." (which fails the
# whole match), and the lookbehinds have a fixed width: linear, like the patterns above.
_PLAIN: Final = re.compile(
    r"(?![A-Za-z]{2}[0-9]{2})"
    r"(?:[A-Za-z_\-]++"
    r"|[0-9]{1,7}+(?![0-9])(?![.+\-]*+[0-9])"
    r"|\.(?![^.]*+\.)(?![A-Za-z]{2}[0-9]{2})"
    r"|(?<!(?i:bearer))(?<!(?i:basic))\+(?![A-Za-z]{2}[0-9]{2})"
    r")*+"
)


# Longer text goes the long way: values of real URLs are shorter, and a long hostile value then
# pays nothing for a test that would fail.
_PLAIN_MAX: Final = 256


def plain(text: str) -> bool:
    """Whether no detector can find anything in ``text``, in either reading of "+".

    Decided by one or two linear regex calls instead of a scan (see the comment above): most
    values of real URLs pass, and the scan is left to those that might hold something.
    """
    if len(text) > _PLAIN_MAX:
        return False
    # _LONG_RUN is the shortest run _TOK matches.
    return (len(text) < 20 or _LONG_RUN.search(text) is None) and _PLAIN.fullmatch(text) is not None


# --- e-mail ---------------------------------------------------------------------------------------


def _email(text: str, start: int, end: int) -> Span | None:
    at = text.index("@", start, end)
    labels = text[at + 1 : end].split(".")
    # The top-level domain starts with a letter (RFC 1123 section 2.1 keeps all-numeric TLDs out),
    # which keeps "react@18.2.0" (a package version) apart from an address. A trailing part that
    # cannot be a TLD ("example.com.123") is left outside the match.
    keep = len(labels)
    while keep > 1 and not (len(labels[keep - 1]) >= 2 and labels[keep - 1][0].isalpha()):
        keep -= 1
    if keep < 2 or not labels[0]:
        return None
    return start, at + 1 + len(".".join(labels[:keep])), "email"


# --- numbers: cards, SSNs, phones -----------------------------------------------------------------

_GROUP = re.compile(r"\(0\)|[0-9]+")


def luhn(digits: str) -> bool:
    """ISO/IEC 7812-1 Annex B check digit (the Luhn algorithm)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i & 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _is_card(digits: str, sizes: list[int], seps: list[str]) -> bool:
    # ISO/IEC 7812: 13 to 19 digits whose first digit (the major industry identifier) is 2-6 for
    # every payment network (Mastercard 2/5, Amex/Diners/JCB 3, Visa 4, Discover/UnionPay/Maestro
    # 6), and a valid Luhn check digit. The MII keeps 19-digit snowflake ids (starting with 1) out.
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
        return False
    if len(sizes) > 1:
        # Printed cards are grouped 4-4-4-4(-3), 4-6-5 or 4-6-4, with one kind of separator.
        if sizes[0] != 4 or min(sizes[1:-1], default=4) < 4 or len(set(seps)) != 1:
            return False
        if seps[0] not in (" ", "-"):
            return False
    return luhn(digits)


def _is_ssn(digits: str, sizes: list[int], seps: list[str]) -> bool:
    # US SSN printed as AAA-GG-SSSS. Area 000, 666 and 900-999, group 00 and serial 0000 are never
    # issued (SSA, "Social Security Number Randomization", 2011), which rules out many dates/ids.
    if sizes != [3, 2, 4] or len(set(seps)) != 1 or seps[0] not in ("-", " "):
        return False
    area = digits[:3]
    if area in ("000", "666") or area[0] == "9":
        return False
    return digits[3:5] != "00" and digits[5:] != "0000"


def _is_phone(digits: str, sizes: list[int], plus: bool, paren: bool) -> bool:
    if plus:
        # ITU-T E.164: at most 15 digits including the country code, which never starts with 0.
        return 8 <= len(digits) <= 15 and digits[0] != "0"
    # National formats need visible grouping: "020 7946 0958", "(555) 123-4567", "06 12 34 56 78".
    # Nine to thirteen digits covers national numbers from Spain (9) to Germany (up to 13), and
    # excludes dates (8 digits) and most ranges. Two groups pass only with a trunk "0" or an area
    # code in parentheses, so "1000-20000" (a price range) does not.
    if len(sizes) < 2 or not 9 <= len(digits) <= 13:
        return False
    return digits[0] == "0" or paren or len(sizes) >= 3


def _numbers(text: str, start: int, end: int) -> list[Span]:
    if end < len(text) and text[end].isalnum():
        return []  # the run goes on: part of a longer number or of a product code
    groups = [m.span() for m in _GROUP.finditer(text, start, end) if m.group() != "(0)"]
    digits = [text[a:b] for a, b in groups]
    totals = [0]
    for part in digits:
        totals.append(totals[-1] + len(part))
    found: list[Span] = []
    n = len(groups)
    i = 0
    while i < n:
        hit = None
        for j in range(n - 1, i - 1, -1):
            if 8 <= totals[j + 1] - totals[i] <= 19:
                hit = _number_window(text, groups, digits, i, j)
                if hit is not None:
                    break
        if hit is None:
            i += 1
            continue
        found.append(hit)
        while i < n and groups[i][0] < hit[1]:
            i += 1
    return found


def _number_window(
    text: str, groups: list[tuple[int, int]], parts: list[str], i: int, j: int
) -> Span | None:
    g_start, g_end = groups[i][0], groups[j][1]
    digits = "".join(parts[i : j + 1])
    sizes = [len(part) for part in parts[i : j + 1]]
    seps = [text[groups[k][1] : groups[k + 1][0]] for k in range(i, j)]
    before = text[max(0, g_start - 2) : g_start]
    plus = before.endswith("+")
    paren = "(" in before or any(")" in sep for sep in seps)
    if not plus and not paren:
        if _is_ssn(digits, sizes, seps):
            return g_start, g_end, "ssn"
        if _is_card(digits, sizes, seps):
            return g_start, g_end, "card"
    if not _is_phone(digits, sizes, plus, paren):
        return None
    # Widen over the "+", "(+" or "(" in front and a closing ")".
    lead = len(before) - len(before.rstrip("(+"))
    close = g_end < len(text) and text[g_end] == ")"
    return g_start - lead, g_end + close, "phone"


# --- IBAN -----------------------------------------------------------------------------------------

# ISO 13616 IBAN lengths by country, from the SWIFT IBAN registry.
IBAN_LENGTHS: Final[dict[str, int]] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_valid(compact: str) -> bool:
    """ISO 13616 / ISO 7064 MOD 97-10: known country length and check digits."""
    compact = compact.upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _iban(text: str, start: int, end: int) -> Span | None:
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    compact: list[str] = []
    pos = start
    while pos < end and len(compact) < length:
        if text[pos] != " ":
            compact.append(text[pos])
        pos += 1
    # The IBAN must end at a group boundary, not in the middle of a longer code.
    if len(compact) < length or (pos < end and text[pos] != " "):
        return None
    return (start, pos, "iban") if iban_valid("".join(compact)) else None


# --- tokens and key formats -----------------------------------------------------------------------

# Vendor key formats, matched anywhere inside a run of the base64url alphabet:
# AWS access key ids (20 characters: AKIA long-term, ASIA temporary, and the other documented
# unique-id prefixes), Google API keys ("AIza" + 35) and OAuth access tokens ("ya29."), Stripe
# secret, restricted and publishable keys and webhook secrets, GitHub tokens ("ghp_", "gho_",
# "ghu_", "ghs_", "ghr_" + 36, fine-grained "github_pat_"), Slack tokens ("xoxb-", "xoxp-", ...).
_KEY_FORMATS: Final = re.compile(
    r"(?P<aws_key>(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16})"
    r"|(?P<google_key>AIza[0-9A-Za-z_\-]{35}|ya29\.[0-9A-Za-z_\-]{20,})"
    r"|(?P<stripe_key>(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{10,}|whsec_[0-9A-Za-z]{20,})"
    r"|(?P<github_token>gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})"
    r"|(?P<slack_token>xox[abposr]-[A-Za-z0-9\-]{10,})"
)
# The same prefixes as plain literals, which the regex engine searches for quickly.
_KEY_PREFIXES: Final = re.compile(
    r"AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|AIza|ya29\.|sk_|rk_|pk_|whsec_"
    r"|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|xoxa-|xoxb-|xoxp-|xoxo-|xoxs-|xoxr-"
)

TOKEN_MIN_LENGTH: Final = 20
# Evidence, in bits, that a run is a random token rather than words, above which it is removed.
TOKEN_MIN_BITS: Final = 2.0

# English letter frequencies in percent (Lewand, "Cryptological Mathematics", 2000, table 1.1).
_ENGLISH = dict(
    zip(
        "etaoinshrdlcumwfgypbvkjxqz",
        (12.7, 9.06, 8.17, 7.51, 6.97, 6.75, 6.33, 6.09, 5.99, 4.25, 4.03, 2.78, 2.76, 2.41,
         2.36, 2.23, 2.02, 1.97, 1.93, 1.49, 0.98, 0.77, 0.15, 0.15, 0.095, 0.074),
        strict=True,
    )
)  # fmt: skip
# Per letter: log2(P(letter | uniform random) / P(letter | English)). Rare letters (j, q, x, z) are
# strong evidence of randomness, common ones (e, t, a) evidence of words. Digits are neutral.
_LETTER_BITS: Final[dict[str, float]] = {
    **{d: 0.0 for d in "0123456789-_"},
    **{c: math.log2((1 / 26) / (p / 100)) for c, p in _ENGLISH.items()},
    **{c.upper(): math.log2((1 / 26) / (p / 100)) for c, p in _ENGLISH.items()},
}
# Per adjacent pair inside a chunk: a class change (lower to upper, letter to digit or back)
# happens at ~45 % of the pairs of a uniformly random base62 or base64url string and at well
# under 10 % of the pairs of slugs, titles and file names, which change class at word edges.
_BITS_CHANGE: Final = math.log2(0.45 / 0.08)
_BITS_SAME: Final = math.log2(0.55 / 0.92)
# Each character as its class (l, u, d; a space for the "-" and "_" between chunks): the class
# changes counted are the bigrams "lu", "ld", "ud", "dl" and "du" (upper to lower is how every
# capitalised word starts, so it is not one), and a bigram with a space in it is not a pair inside
# a chunk. A run is ASCII, so it is classified as bytes and decoded: bytes.translate reads a
# 256-byte table, where str.translate looks every character up in a dict (many times slower).
_CLASSES = bytes.maketrans(
    (string.ascii_lowercase + string.ascii_uppercase + string.digits + "-_").encode(),
    b"l" * 26 + b"u" * 26 + b"d" * 10 + b"  ",
)
_HEX_CHUNK = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{16,}(?![0-9A-Za-z])")
# RFC 9562 UUIDs name resources (orders, documents, products) far more often than people; they
# are kept, like numeric ids.
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def token_bits(run: str) -> float:
    """Bits of evidence that ``run`` (base64url alphabet) is random rather than words.

    A naive-Bayes log-likelihood ratio between "characters drawn uniformly" and "English-like
    words, numbers and model codes", over the chunks between "-" and "_" (so that slugs such as
    ``Apple-iPhone-15-Pro-Max-256GB`` are scored word by word). Hexadecimal chunks of 16 or more
    characters that mix digits and letters (hashes, session ids) are always random. Every step is
    a single pass in C, so an 8 KB run costs tens of microseconds.
    """
    core = run.rstrip("=")
    classes = core.encode().translate(_CLASSES).decode()
    if "d" in classes:  # a chunk that mixes digits and letters has a digit
        m = _HEX_CHUNK.search(core)  # search, not finditer: most runs have no hex chunk at all
        while m is not None:
            chunk = m.group()
            if not chunk.isdigit() and not chunk.isalpha():
                return math.inf
            m = _HEX_CHUNK.search(core, m.end())
    count = classes.count
    separators = count(" ")
    letters_and_digits = len(classes) - separators
    if "  " in classes or classes[:1] == " " or classes[-1:] == " ":
        chunks = count(" l") + count(" u") + count(" d") + (classes[:1] not in (" ", ""))
    else:  # each separator starts one chunk after the first (a slug: "how-to-make-bread")
        chunks = separators + (classes != "")
    pairs = letters_and_digits - chunks
    # Only changes between classes that occur in the run are counted; the others are 0.
    upper = "u" in classes
    changes = count("lu") if upper else 0
    if "d" in classes:
        changes += count("ld") + count("dl") + (count("ud") + count("du") if upper else 0)
    bits = changes * _BITS_CHANGE + (pairs - changes) * _BITS_SAME
    return bits + sum(map(_LETTER_BITS.__getitem__, core))


def _token(text: str, start: int, end: int, heuristics: bool) -> Span | None:
    run = text[start:end]
    # Every prefix has an upper-case letter, "_", "." or "xox" in it, so a lower-case slug such
    # as "how-to-make-sourdough-bread" needs no search.
    maybe_key = not run.islower() or "_" in run or "." in run or "xox" in run
    if maybe_key and _KEY_PREFIXES.search(run):
        key = _KEY_FORMATS.search(run)
        if key is not None and key.lastgroup is not None:
            return start, end, key.lastgroup
    if (
        heuristics
        and len(run.rstrip("=")) >= TOKEN_MIN_LENGTH
        and not (len(run) == 36 and _UUID.fullmatch(run))
        and token_bits(run) >= TOKEN_MIN_BITS
    ):
        return start, end, "token"
    return None


# --- the scan -------------------------------------------------------------------------------------


def _bearer(text: str, start: int, end: int, cred_start: int) -> Span | None:
    cred = text[cred_start:end]
    scheme = text[start:cred_start].strip().lower()
    if scheme == "basic":
        # RFC 7617: the credential is base64 of "user-id:password".
        try:
            decoded = base64.b64decode(cred + "=" * (-len(cred) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
        return (cred_start, end, "basic") if b":" in decoded else None
    # A b64token (RFC 6750 section 2.1) of words only ("bearer bonds explained") is prose.
    if len(cred) < 20 and cred.isalpha():
        return None
    return cred_start, end, "bearer"


def is_ip(candidate: str) -> bool:
    """Whether ``candidate`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def find(text: str, budget: Budget, *, heuristics: bool = True, iban: bool = True) -> list[Span]:
    """Spans of personal data in ``text``, in order and not overlapping.

    ``heuristics=False`` skips the random-token score (values of allowlisted keys). Raises
    :class:`OverBudget` when this call has examined too many candidates.
    """
    if _ONE_RUN.fullmatch(text):
        # One candidate, the whole text (see _ONE_RUN): what the scan below would find.
        budget.spend()
        return _run(text, 0, len(text), budget, heuristics)
    spans: list[Span] = []
    mask = _triggers(text) & (~0 if iban else ~_IBAN_BIT)
    if not mask:
        return spans
    for m in _candidates(mask).finditer(text):
        budget.spend()
        kind = m.lastgroup
        start, end = m.span()
        span: Span | None = None
        if kind == "email":
            span = _email(text, start, end)
        elif kind == "jwt":
            span = (start, end, "jwt")
        elif kind == "bearer":
            span = _bearer(text, start, end, m.start("cred"))
        elif kind == "ipv6":
            candidate = text[start:end].rstrip(".")
            if any(c.isalnum() for c in candidate) and is_ip(candidate):
                span = (start, start + len(candidate), "ip")
        elif kind == "ipv4":
            if is_ip(text[start:end]):
                span = (start, end, "ip")
            else:
                spans.extend(_numbers(text, start, end))  # "09.141.77.763" is a phone
        elif kind == "iban":
            span = _iban(text, start, end)
            if span is None:
                # Not an IBAN: look inside for anything else (a phone in groups, a token).
                inner = find(text[start:end], budget, heuristics=heuristics, iban=False)
                spans.extend((s + start, e + start, k) for s, e, k in inner)
        elif kind == "num":
            spans.extend(_numbers(text, start, end))
        elif kind == "tok":
            spans.extend(_run(text, start, end, budget, heuristics))
        if span is not None:
            spans.append(span)
    return spans


def _run(text: str, start: int, end: int, budget: Budget, heuristics: bool) -> list[Span]:
    """A run of the base64url alphabet: a key or token, or else what hides inside it."""
    span = _token(text, start, end, heuristics)
    if span is not None:
        return [span]
    if _INSIDE_HINT.search(text, start, end):
        return _inside_run(text, start, end, budget)
    return []


def _inside_run(text: str, start: int, end: int, budget: Budget) -> list[Span]:
    found: list[Span] = []
    for m in _INSIDE_RUN.finditer(text, start, end):
        budget.spend()
        if m.lastgroup == "iban":
            span = _iban(text, m.start(), m.end())
            if span is not None:
                found.append(span)
        else:
            found.extend(_numbers(text, m.start(), m.end()))
    return found


def redact(
    text: str, budget: Budget, *, heuristics: bool = True, alt: str | None = None
) -> tuple[str, set[str]] | None:
    """Replace what :func:`find` reports with placeholders: ``(new_text, kinds)`` or None.

    ``alt`` is a second reading of the same text, index for index (the caller's other reading of
    "+": a space in a form-encoded query, a plus sign elsewhere). What is found in either reading
    is removed, so "+44+20+7946+0958" in a path and "%2B44" in a query are both phone numbers.
    """
    spans = find(text, budget, heuristics=heuristics)
    if alt is not None and alt != text and len(alt) == len(text):
        spans += find(alt, budget, heuristics=heuristics)
    if not spans:
        return None
    spans = _merge(spans)
    out: list[str] = []
    kinds: set[str] = set()
    pos = 0
    for start, end, kind in spans:
        out.append(text[pos:start])
        out.append(PLACEHOLDERS[kind])
        kinds.add(kind)
        pos = end
    out.append(text[pos:])
    return "".join(out), kinds


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_kind = merged[-1]
            longer = kind if end - start > last_end - last_start else last_kind
            merged[-1] = (last_start, max(end, last_end), longer)
        else:
            merged.append((start, end, kind))
    return merged
