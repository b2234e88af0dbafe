"""User-Agent parsing: browser, OS, device and a coarse device class.

The answers are those of the ``user-agents`` package (its ``UserAgent`` objects and their
``is_mobile`` / ``is_tablet`` / ``is_pc`` / ``is_bot`` rules), but the regular expressions run in
ua-parser 1.x's Rust engine (``ua-parser[regex]``, ~10 µs for a new string) instead of the legacy
pure-Python path that ``user_agents.parse`` calls (~400-500 µs, behind a 200-entry cache that is
wiped when full). Results are kept in our own bounded LRU cache.

The answers equal ``user_agents.parse`` on real traffic, except where ua-parser's Rust engine
differs from Python's ``re``: it turns bounded repetitions of 100 or more
(``.{0,100}``) into unbounded ones and makes ``\\d`` / ``\\w`` ASCII-only (``rewrite_regex`` in
ua-parser/uap-rust), and it trims spaces around a device family taken from a match. So a crawler
naming itself after the 100th character (Applebot, Amazonbot) is a "bot" here and a "pc" there,
and non-ASCII digits are not read as version numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, NamedTuple, Protocol

from ua_parser import (
    OS,
    BasicResolver,
    Device,
    Domain,
    Matchers,
    Resolver,
    UserAgent,
    load_builtins,
    load_lazy_builtins,
)
from user_agents.parsers import (  # type: ignore[import-untyped]
    MOBILE_BROWSER_FAMILIES,
    MOBILE_DEVICE_FAMILIES,
    MOBILE_OS_FAMILIES,
    PC_OS_FAMILIES,
    TABLET_DEVICE_FAMILIES,
)

from passivelog.sinks._base import check_number

DEVICE_CLASSES: Final = ("mobile", "tablet", "pc", "bot", "other")

# Longer User-Agent values are cut to this many characters before parsing. Regex time and cache
# memory grow with the input, and a client may send a header of many kilobytes (a 120 KB value
# takes ~1.2 ms in the Rust engine, ~14 µs once cut); real User-Agent strings, in-app browsers
# included, stay under 400 characters, so nothing real is lost.
MAX_UA_LENGTH: Final = 512


def _load_regex_resolver() -> Callable[[Matchers], Resolver] | None:
    try:
        from ua_parser.regex import Resolver as RegexResolver
    except ImportError:  # ua-parser-rs is missing or its binary does not load here
        return None
    return RegexResolver


_REGEX_RESOLVER: Final = _load_regex_resolver()

# Which ua-parser engine does the matching: "regex" (the Rust engine from ua-parser-rs, the one
# this package depends on) or "basic" (ua-parser's pure-Python engine, ~40x slower on a new
# string, used only when ua-parser-rs cannot be imported). Parsing works either way; this says
# which one is in use.
ENGINE: Final = "regex" if _REGEX_RESOLVER is not None else "basic"

_UNKNOWN_BROWSER: Final = UserAgent()
_UNKNOWN_OS: Final = OS()
_UNKNOWN_DEVICE: Final = Device()
_OTHER: Final = "Other"  # the family ua-parser reports when nothing matched


@functools.cache
def _shared_resolver() -> Resolver:
    # Built once per process (~0.1 s) and shared: it is immutable. It is the bare resolver, with
    # no ua-parser cache around it, since AgentParser caches the finished AgentInfo itself.
    if _REGEX_RESOLVER is not None:
        return _REGEX_RESOLVER(load_lazy_builtins())
    return BasicResolver(load_builtins())


class AgentInfo(NamedTuple):
    """What the User-Agent header says about the client, reduced to a few coarse fields.

    Attributes:
        name: browser or client family ("Chrome", "Mobile Safari", "curl"); None when unknown.
        version: browser version as "major.minor.patch" ("126.0.0"); None when absent.
        os_name: operating system family ("Windows", "iOS", "Mac OS X"); None when unknown.
        os_version: operating system version ("17.5"); None when absent.
        device_name: device family ("iPhone", "Pixel 8", "Spider" for crawlers); None when
            unknown.
        device_class: one of DEVICE_CLASSES.
    """

    name: str | None
    version: str | None
    os_name: str | None
    os_version: str | None
    device_name: str | None
    device_class: str


# Building user_agents' UserAgent objects and reading their is_* properties took nearly half the
# time of parsing a new string, so their version formatting and rules are restated below over
# plain strings. The family lists are user_agents' own, imported, so a release that edits them is
# followed here; a release that changes a rule is not, and the tests that compare the answers
# with those of UserAgent objects built from the same ua-parser result, on many real User-Agent
# strings, are there to catch that.
_TABLET_DEVICES: Final = frozenset(TABLET_DEVICE_FAMILIES)
_MOBILE_DEVICES: Final = frozenset(MOBILE_DEVICE_FAMILIES)
_MOBILE_BROWSERS: Final = frozenset(MOBILE_BROWSER_FAMILIES)
_MOBILE_OSES: Final = frozenset(MOBILE_OS_FAMILIES)
_PC_OSES: Final = frozenset(PC_OS_FAMILIES)


def _version_string(major: str | None, minor: str | None, patch: str | None) -> str:
    # As user_agents.parsers.parse_browser / parse_operating_system: patch_minor is ignored,
    # missing parts are skipped, and a part made only of digits goes through int(), so "07" is
    # written "7" and non-ASCII digits as ASCII ones. An ASCII number with no leading zero, the
    # usual case, is already in that form and skips the round trip.
    parts = []
    for part in (major, minor, patch):
        if part is None:
            continue
        if part.isdigit() and not (part.isascii() and (part[0] != "0" or len(part) == 1)):
            part = str(int(part))
        parts.append(part)
    return ".".join(parts)


def _class_of(ua: str, browser: str, os: str, os_version: str, device: str) -> str:
    # user_agents' is_bot, is_tablet, is_mobile and is_pc, asked in _device_class's order. Each
    # later test may assume the earlier ones failed: is_mobile's "Android or Firefox OS and not
    # a tablet" is then just the family, and its "Spider with a Mobile browser" cannot be met.
    if device == "Spider":
        return "bot"
    if (
        device in _TABLET_DEVICES
        or (os == "Android" and "Mobile Safari" not in ua and browser != "Firefox Mobile")
        or (os == "Windows" and os_version.startswith("RT"))
        or (os == "Firefox OS" and "Mobile" not in browser)
    ):
        return "tablet"
    if (
        device in _MOBILE_DEVICES
        or browser in _MOBILE_BROWSERS
        or os == "Android"
        or os == "Firefox OS"
        or (os == "BlackBerry OS" and device != "Blackberry Playbook")
        or os in _MOBILE_OSES
        or "J2ME" in ua
        or "MIDP" in ua
        or "iPhone;" in ua
        or "Googlebot-Mobile" in ua
        or ("NokiaBrowser" in ua and "Mobile" in ua)
    ):
        return "mobile"
    if (
        "Windows NT" in ua
        or os in _PC_OSES
        or (os == "Windows" and os_version == "ME")
        or (os == "Mac OS X" and "Silk" not in ua)
    ):
        return "pc"
    if "Maemo" not in ua and ("Chrome OS" in os or ("Linux" in ua and "X11" in ua)):
        return "pc"
    return "other"


def _utf8(ua: str) -> str:
    if ua.isascii():
        return ua
    # Lone surrogates (header bytes decoded with "surrogateescape") are not valid UTF-8 and the
    # Rust engine only accepts UTF-8 text.
    return ua.encode("utf-8", "replace").decode("utf-8")


def _info(ua: str, browser: _Match, os: _Match, device_family: str) -> AgentInfo:
    version = _version_string(browser.major, browser.minor, browser.patch)
    os_version = _version_string(os.major, os.minor, os.patch)
    return AgentInfo(
        None if browser.family == _OTHER else browser.family,
        version or None,
        None if os.family == _OTHER else os.family,
        os_version or None,
        None if device_family == _OTHER else device_family,
        _class_of(ua, browser.family, os.family, os_version, device_family),
    )


def _describe(resolver: Resolver, ua: str) -> AgentInfo:
    ua = _utf8(ua)
    result = resolver(ua, Domain.ALL)
    device = result.device or _UNKNOWN_DEVICE
    return _info(ua, result.user_agent or _UNKNOWN_BROWSER, result.os or _UNKNOWN_OS, device.family)


Extract = Callable[[str], Any]


def _extractors(resolver: Resolver) -> tuple[Extract, Extract, Extract] | None:
    # ua-parser's Rust resolver keeps one extractor per domain as its typed attributes ua, os and
    # de, and __call__ wraps their matches in three dataclasses and a PartialResult: ~3.6 µs of a
    # ~13 µs parse. Their matches carry the same fields, so they are read directly; any other
    # resolver goes through __call__ (_describe), and the tests hold the two equal.
    ua, os, de = (getattr(getattr(resolver, n, None), "extract", None) for n in ("ua", "os", "de"))
    if callable(ua) and callable(os) and callable(de):
        return ua, os, de
    return None


def _describe_extracted(extractors: tuple[Extract, Extract, Extract], ua: str) -> AgentInfo:
    ua = _utf8(ua)
    extract_ua, extract_os, extract_de = extractors
    device = extract_de(ua)
    return _info(
        ua,
        extract_ua(ua) or _UNKNOWN_BROWSER,
        extract_os(ua) or _UNKNOWN_OS,
        _OTHER if device is None else device.family,
    )


def _describer(resolver: Resolver) -> Callable[[str], AgentInfo]:
    extractors = _extractors(resolver)
    if extractors is None:
        return functools.partial(_describe, resolver)
    return functools.partial(_describe_extracted, extractors)


class _Match(Protocol):
    # What _info reads of a match: ua-parser's UserAgent and OS, or the Rust engine's matches.
    @property
    def family(self) -> str: ...
    @property
    def major(self) -> str | None: ...
    @property
    def minor(self) -> str | None: ...
    @property
    def patch(self) -> str | None: ...


class AgentParser:
    """Parses User-Agent header values into AgentInfo, with a bounded LRU cache.

    Safe to share between threads and requests: it keeps no per-request state, and both the
    cache and the compiled matchers are thread-safe. The first AgentParser of a process compiles
    the matchers that all of them share (~0.1 s and ~26 MB, like ``ua_parser.parse``).

    Args:
        cache_size: how many distinct (cut) User-Agent strings to remember; 0 disables the cache.
            An entry costs about 0.5 KB at most, so the default 4096 stays around 2 MB.
    """

    __slots__ = ("_lookup",)

    def __init__(self, *, cache_size: int = 4096) -> None:
        check_number("cache_size", cache_size, minimum=0, integer=True)  # 0: no cache
        self._lookup = functools.lru_cache(maxsize=cache_size)(_describer(_shared_resolver()))

    def parse(self, user_agent: str | None) -> AgentInfo | None:
        """Return what ``user_agent`` says, or None when the header is missing or empty.

        Never raises: junk, control characters, lone surrogates and huge values all give an
        AgentInfo (with None fields and device_class "other" when nothing is recognised).
        """
        if not user_agent:
            return None
        return self._lookup(user_agent[:MAX_UA_LENGTH])
