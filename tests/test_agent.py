"""User-Agent parsing: real clients, agreement with user_agents, the cache bound, totality."""

from __future__ import annotations

import importlib.util
import sys
import threading
from typing import Any

import pytest
import ua_parser.regex
import user_agents
from hypothesis import given, settings
from hypothesis import strategies as st
from ua_parser import Domain
from user_agents.parsers import parse_browser

from passivelog import agent
from passivelog.agent import DEVICE_CLASSES, MAX_UA_LENGTH, AgentInfo, AgentParser

# -- the reference: user-agents' own objects ----------------------------------------------------
# AgentParser must answer what user_agents' UserAgent objects answer. These build such an object
# from a ua-parser result, as UserAgent.__init__ does after its slow legacy parse (it sets exactly
# these four attributes with these three helpers), and read its properties.


def _reference_agent(ua: str, result: ua_parser.PartialResult) -> Any:
    browser = result.user_agent or ua_parser.UserAgent()
    os = result.os or ua_parser.OS()
    device = result.device or ua_parser.Device()
    built = user_agents.parsers.UserAgent.__new__(user_agents.parsers.UserAgent)
    built.ua_string = ua
    built.browser = user_agents.parsers.parse_browser(
        browser.family, browser.major, browser.minor, browser.patch
    )
    built.os = user_agents.parsers.parse_operating_system(
        os.family, os.major, os.minor, os.patch, os.patch_minor
    )
    built.device = user_agents.parsers.parse_device(device.family, device.brand, device.model)
    return built


def _info_from(reference: Any) -> AgentInfo:
    def family(name: str) -> str | None:
        return None if name == "Other" else name

    # Bot first: a crawler announcing a phone (Googlebot Smartphone) is still a crawler.
    if reference.is_bot:
        device_class = "bot"
    elif reference.is_tablet:
        device_class = "tablet"
    elif reference.is_mobile:
        device_class = "mobile"
    elif reference.is_pc:
        device_class = "pc"
    else:
        device_class = "other"
    return AgentInfo(
        family(reference.browser.family),
        reference.browser.version_string or None,
        family(reference.os.family),
        reference.os.version_string or None,
        family(reference.device.family),
        device_class,
    )


CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

# (id, User-Agent, expected AgentInfo or None). AgentInfo fields in order:
# name, version, os_name, os_version, device_name, device_class.
REALISTIC: list[tuple[str, str, AgentInfo | None]] = [
    ("chrome-windows", CHROME_WINDOWS, AgentInfo("Chrome", "126.0.0", "Windows", "10", None, "pc")),
    (
        "firefox-windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        AgentInfo("Firefox", "127.0", "Windows", "10", None, "pc"),
    ),
    (
        "edge-windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
        AgentInfo("Edge", "126.0.2592", "Windows", "10", None, "pc"),
    ),
    (
        "opera-windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
        AgentInfo("Opera", "111.0.0", "Windows", "10", None, "pc"),
    ),
    (
        "ie11-windows",
        "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
        AgentInfo("IE", "11.0", "Windows", "10", None, "pc"),
    ),
    (
        "chrome-macos",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        AgentInfo("Chrome", "126.0.0", "Mac OS X", "10.15.7", "Mac", "pc"),
    ),
    (
        "safari-macos",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Safari/605.1.15",
        AgentInfo("Safari", "17.5", "Mac OS X", "10.15.7", "Mac", "pc"),
    ),
    (
        "firefox-macos",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
        AgentInfo("Firefox", "127.0", "Mac OS X", "14.5", "Mac", "pc"),
    ),
    (
        "edge-macos",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
        AgentInfo("Edge", "126.0.2592", "Mac OS X", "10.15.7", "Mac", "pc"),
    ),
    (
        "chrome-linux",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        AgentInfo("Chrome", "126.0.0", "Linux", None, None, "pc"),
    ),
    (
        "firefox-linux",
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        AgentInfo("Firefox", "127.0", "Linux", None, None, "pc"),
    ),
    (
        "firefox-ubuntu",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        AgentInfo("Firefox", "127.0", "Ubuntu", None, None, "pc"),
    ),
    (
        "chrome-chromeos",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        AgentInfo("Chrome", "126.0.0", "Chrome OS", "14541.0.0", None, "pc"),
    ),
    (
        "safari-iphone",
        SAFARI_IPHONE,
        AgentInfo("Mobile Safari", "17.5", "iOS", "17.5", "iPhone", "mobile"),
    ),
    (
        "chrome-iphone",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        AgentInfo("Chrome Mobile iOS", "126.0.6478", "iOS", "17.5", "iPhone", "mobile"),
    ),
    (
        "facebook-app-iphone",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.38.109;FBBV/612345678;"
        "FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
        AgentInfo("Facebook", "470.0.0", "iOS", "17.5.1", "iPhone", "mobile"),
    ),
    (
        "chrome-android-phone",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36",
        AgentInfo("Chrome Mobile", "126.0.0", "Android", "10", "K", "mobile"),
    ),
    (
        "chrome-pixel",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.71 Mobile Safari/537.36",
        AgentInfo("Chrome Mobile", "126.0.6478", "Android", "14", "Pixel 8", "mobile"),
    ),
    (
        "samsung-internet-galaxy",
        "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        AgentInfo("Samsung Internet", "25.0", "Android", "14", "Samsung SM-S911B", "mobile"),
    ),
    (
        "firefox-android-phone",
        "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
        AgentInfo("Firefox Mobile", "127.0", "Android", "14", "Generic Smartphone", "mobile"),
    ),
    (
        "webview-android",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240705.005; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
        AgentInfo("Chrome Mobile WebView", "126.0.6478", "Android", "14", "Pixel 8", "mobile"),
    ),
    (
        "safari-ipad",
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1",
        AgentInfo("Mobile Safari", "16.6", "iOS", "16.6", "iPad", "tablet"),
    ),
    (
        "chrome-galaxy-tab",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        AgentInfo("Chrome", "126.0.0", "Android", "13", "SM-X710", "tablet"),
    ),
    (
        "chrome-android-tablet",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        AgentInfo("Chrome", "126.0.0", "Android", "10", "K", "tablet"),
    ),
    (
        "silk-kindle-fire",
        "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Silk/126.3.1 like Chrome/126.0.6478.126 Safari/537.36",
        AgentInfo("Amazon Silk", "126.3.1", "Android", "9", "Kindle", "tablet"),
    ),
    # user_agents rates any Android UA whose browser is "Firefox Mobile" as a phone, even when it
    # says "Tablet": its rule, kept as is.
    (
        "firefox-android-tablet",
        "Mozilla/5.0 (Android 14; Tablet; rv:127.0) Gecko/127.0 Firefox/127.0",
        AgentInfo("Firefox Mobile", "127.0", "Android", "14", "Generic Tablet", "mobile"),
    ),
    (
        "samsung-smart-tv",
        "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36",
        AgentInfo("Samsung Internet", "4.0", "Tizen", "6.0", "Samsung SMART-TV", "other"),
    ),
    (
        "googlebot",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        AgentInfo("Googlebot", "2.1", None, None, "Spider", "bot"),
    ),
    (
        "googlebot-smartphone",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        AgentInfo("Googlebot", "2.1", "Android", "6.0.1", "Spider", "bot"),
    ),
    (
        "bingbot",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        AgentInfo("bingbot", "2.0", None, None, "Spider", "bot"),
    ),
    (
        "bingbot-desktop",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
        "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        AgentInfo("bingbot", "2.0", None, None, "Spider", "bot"),
    ),
    (
        "facebook-crawler",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        AgentInfo("FacebookBot", "1.1", None, None, "Spider", "bot"),
    ),
    ("curl", "curl/8.5.0", AgentInfo("curl", "8.5.0", None, None, None, "other")),
    ("wget", "Wget/1.21.4", AgentInfo("Wget", "1.21.4", None, None, None, "other")),
    (
        "python-requests",
        "python-requests/2.32.3",
        AgentInfo("Python Requests", "2.32", None, None, None, "other"),
    ),
    ("junk", "!!! not a user agent ???", AgentInfo(None, None, None, None, None, "other")),
    ("empty", "", None),
]

# Two real crawlers put "bot" after their 100th character. The reference answers "pc" there and
# the Rust engine "bot", because uap-core guards its generic crawler pattern with
# `^.{0,100}(bot|...)` against Python backtracking, and ua-parser's Rust engine rewrites bounded
# repetitions of 100 or more into unbounded ones (`rewrite_regex` in ua-parser/uap-rust). Both
# are crawlers, so the Rust answer is the right one.
LATE_BOT_TOKEN = [
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 "
        "(Applebot/0.1; +http://www.apple.com/go/applebot)",
        id="applebot",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/600.2.5 "
        "(KHTML, like Gecko) Version/8.0.2 Safari/600.2.5 "
        "(Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot)",
        id="amazonbot",
    ),
]


def _reference_info(user_agent: str) -> AgentInfo:
    # The slow reference path, reduced to AgentInfo by the same mapping the parser uses: the
    # comparison is then about the engine and the objects built from it, nothing else.
    return _info_from(user_agents.parse(user_agent))


@pytest.fixture(scope="module")
def parser() -> AgentParser:
    return AgentParser()


@pytest.mark.parametrize(
    ("user_agent", "expected"), [pytest.param(ua, info, id=name) for name, ua, info in REALISTIC]
)
def test_parses_realistic_user_agents(
    parser: AgentParser, user_agent: str, expected: AgentInfo | None
) -> None:
    assert parser.parse(user_agent) == expected


@pytest.mark.parametrize(
    "user_agent", [pytest.param(ua, id=name) for name, ua, _ in REALISTIC if ua]
)
def test_answers_like_user_agents_parse(parser: AgentParser, user_agent: str) -> None:
    assert parser.parse(user_agent) == _reference_info(user_agent)


@pytest.mark.parametrize("user_agent", LATE_BOT_TOKEN)
def test_crawler_named_past_the_100th_character_is_a_bot(
    parser: AgentParser, user_agent: str
) -> None:
    info = parser.parse(user_agent)
    assert info is not None
    assert info.device_class == "bot"
    assert _reference_info(user_agent).device_class == "pc"


def test_missing_header_gives_none(parser: AgentParser) -> None:
    assert parser.parse(None) is None


def test_regex_engine_is_in_use() -> None:
    assert agent.ENGINE == "regex"
    assert isinstance(agent._shared_resolver(), ua_parser.regex.Resolver)


def test_without_the_rust_engine_parsing_falls_back_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A second copy of the module, loaded while ua-parser-rs cannot be imported; the real module
    # and its classes stay untouched.
    monkeypatch.setitem(sys.modules, "ua_parser_rs", None)
    monkeypatch.delitem(sys.modules, "ua_parser.regex", raising=False)
    spec = importlib.util.spec_from_file_location("_agent_without_rust", agent.__file__)
    assert spec is not None
    assert spec.loader is not None
    fallback = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, fallback)
    spec.loader.exec_module(fallback)

    assert fallback.ENGINE == "basic"
    assert isinstance(fallback._shared_resolver(), ua_parser.BasicResolver)
    info = fallback.AgentParser(cache_size=0).parse(SAFARI_IPHONE)
    assert info == fallback.AgentInfo("Mobile Safari", "17.5", "iOS", "17.5", "iPhone", "mobile")


def test_built_object_has_every_attribute_user_agents_sets() -> None:
    # Guards the shortcut past UserAgent.__init__: a new user-agents release that sets another
    # attribute there would make this fail instead of silently misclassifying.
    built = _reference_agent(
        SAFARI_IPHONE, agent._shared_resolver()(SAFARI_IPHONE, ua_parser.Domain.ALL)
    )
    assert vars(built).keys() == vars(user_agents.parse(SAFARI_IPHONE)).keys()


def test_long_value_parses_like_its_first_characters(parser: AgentParser) -> None:
    assert parser.parse(CHROME_WINDOWS + " x" * 50_000) == parser.parse(CHROME_WINDOWS)


def test_tokens_past_the_cut_are_ignored(parser: AgentParser) -> None:
    info = parser.parse("x" * MAX_UA_LENGTH + CHROME_WINDOWS)
    assert info == AgentInfo(None, None, None, None, None, "other")


@pytest.mark.parametrize(
    "user_agent",
    [
        pytest.param("Mozilla/5.0 (\ud800; Android 14) \udcff Chrome/126.0", id="lone-surrogates"),
        pytest.param("\x00\x01\x1b[31m\r\n\t\x7f", id="control-chars"),
        pytest.param("Mozilla/5.0 (iPhone\x00; CPU iPhone OS 17_5 like Mac OS X)", id="nul-inside"),
        pytest.param("\u202e\u2028\u2029\u0085\ufeff", id="unicode-separators"),
        pytest.param("Mözïllä/5.0 (Wïndöws NT 10.0) 😀 Chrome/١٢٦.0", id="non-ascii"),
        pytest.param("(" * 100_000, id="100kb-parens"),
        pytest.param("Mozilla/5.0 " * 10_000, id="120kb-repeated"),
        pytest.param("   ", id="spaces"),
    ],
)
def test_hostile_values_give_an_answer(parser: AgentParser, user_agent: str) -> None:
    info = parser.parse(user_agent)
    assert info is not None
    assert info.device_class in DEVICE_CLASSES


def test_cache_never_exceeds_cache_size() -> None:
    small = AgentParser(cache_size=50)
    for i in range(50 + 100):
        small.parse(f"{CHROME_WINDOWS} build/{i}")
    info = small._lookup.cache_info()
    assert info.misses == 150
    assert info.currsize <= 50


def test_repeated_value_is_answered_from_the_cache() -> None:
    fresh = AgentParser(cache_size=8)
    first = fresh.parse(SAFARI_IPHONE)
    assert fresh.parse(SAFARI_IPHONE) is first
    assert fresh._lookup.cache_info().hits == 1


def test_cache_is_keyed_by_the_cut_value() -> None:
    fresh = AgentParser(cache_size=8)
    fresh.parse(CHROME_WINDOWS.ljust(MAX_UA_LENGTH, " ") + "first tail")
    fresh.parse(CHROME_WINDOWS.ljust(MAX_UA_LENGTH, " ") + "second, different tail")
    assert fresh._lookup.cache_info().currsize == 1


def test_zero_cache_size_disables_the_cache() -> None:
    uncached = AgentParser(cache_size=0)
    for _ in range(3):
        assert uncached.parse(SAFARI_IPHONE) == AgentInfo(
            "Mobile Safari", "17.5", "iOS", "17.5", "iPhone", "mobile"
        )
    assert uncached._lookup.cache_info().currsize == 0


@pytest.mark.parametrize("cache_size", [-1, True, 1.5, "4096", None])
def test_bad_cache_size_is_rejected(cache_size: Any) -> None:
    with pytest.raises(ValueError, match="cache_size"):
        AgentParser(cache_size=cache_size)


def test_threads_sharing_a_small_cache_get_consistent_answers() -> None:
    shared = AgentParser(cache_size=4)
    expected = {ua: info for _, ua, info in REALISTIC if ua}
    failures: list[str] = []

    def work() -> None:
        for _ in range(5):
            for ua, info in expected.items():
                if shared.parse(ua) != info:
                    failures.append(ua)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


_ANY_TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=[]),  # every category, surrogates and controls included
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.characters(codec="ascii"),
    ),
    max_size=2 * MAX_UA_LENGTH,
)
_UA_TOKENS = st.sampled_from(
    [
        "Mozilla/5.0",
        "(Linux;",
        "Android 14;",
        "iPhone;",
        "iPad;",
        "Windows NT 10.0;",
        "Macintosh;",
        "X11;",
        "Mobile",
        "Tablet",
        "Safari/537.36",
        "Chrome/126.0.0.0",
        "Firefox/127.0",
        "Gecko/20100101",
        "Googlebot/2.1",
        "bot",
        "spider",
        "Build/",
        ")",
        "(",
        ";",
        "KHTML, like Gecko",
        "Silk/",
        "Kindle",
        "MIDP",
        "J2ME",
        "Maemo",
        "BlackBerry",
    ]
)
_UA_LIKE = st.lists(st.one_of(_UA_TOKENS, _ANY_TEXT), max_size=40).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(user_agent=st.one_of(_ANY_TEXT, _UA_LIKE))
def test_parse_never_raises_and_gives_a_known_device_class(user_agent: str) -> None:
    info = AgentParser(cache_size=0).parse(user_agent)
    if user_agent:
        assert info is not None
        assert info.device_class in DEVICE_CLASSES
    else:
        assert info is None


# The fast path restates user_agents' version formatting and is_* rules over plain strings. These
# compare it with user_agents' own objects built from the same ua-parser result, so only the
# mapping is under test, never the engine. The table reaches every rule, the rare ones included.
RULE_CASES = [
    pytest.param(
        "Mozilla/5.0 (Tablet; rv:26.0) Gecko/26.0 Firefox/26.0 SeaMonkey/2.1", id="firefox-os-tab"
    ),
    pytest.param("Mozilla/5.0 (Mobile; rv:26.0) Gecko/26.0 Firefox/26.0", id="firefox-os-phone"),
    pytest.param(
        "Mozilla/5.0 (Tablet; rv:26.0) Gecko/26.0 Firefox/26.0", id="firefox-os-tab-mobile-browser"
    ),
    pytest.param(
        "Mozilla/5.0 (Mobile; rv:48.0; A405DL) Gecko/48.0 Firefox/48.0 KAIOS/2.5", id="kaios"
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36",
        id="chrome-mobile-on-x11",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) "
        "CriOS/126.0.0.0 Safari/537.36",
        id="chrome-ios-on-windows-nt",
    ),
    pytest.param(
        "Opera/9.80 (Windows NT 6.1; Opera Mobi/49; U; en) Presto/2.4.18 Version/10.00",
        id="opera-mobile",
    ),
    pytest.param(
        "Opera/9.80 (J2ME; Opera Mini/9.80 (J2ME/22.478; U; en) Presto/2.5.25 Version/10.54",
        id="opera-mini-j2me",
    ),
    pytest.param("SomeClient/1.0 J2ME", id="bare-j2me"),
    pytest.param("Nokia6230i/2.0 (03.80) Profile/MIDP-2.0 Configuration/CLDC-1.1", id="midp"),
    pytest.param(
        "Mozilla/5.0 (Symbian/3; Series60/5.2 NokiaN8-00/012.002; Profile/MIDP-2.1 "
        "Configuration/CLDC-1.1 ) AppleWebKit/533.4 (KHTML, like Gecko) NokiaBrowser/7.3.0 "
        "Mobile Safari/533.4 3gpp-gba",
        id="nokia-browser",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux armv7l) NokiaBrowser/8.5.0 Mobile Safari/535.1",
        id="nokia-browser-on-x11",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; MSIE 9.0; Windows Phone OS 7.5; Trident/5.0; IEMobile/9.0; "
        "SAMSUNG; SGH-i917)",
        id="windows-phone",
    ),
    pytest.param("Mozilla/4.0 (compatible; MSIE 6.0; Windows CE; IEMobile 7.11)", id="windows-ce"),
    pytest.param(
        "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; ARM; Trident/6.0; Touch)",
        id="windows-rt",
    ),
    pytest.param("Mozilla/4.0 (compatible; MSIE 5.5; Windows 98; Win 9x 4.90)", id="windows-me"),
    pytest.param("Mozilla/4.0 (compatible; MSIE 5.0; Windows 98)", id="windows-98"),
    pytest.param(
        "Mozilla/5.0 (X11; U; SunOS sun4u; en-US; rv:1.9.2) Gecko/20100101 Firefox/3.6",
        id="solaris",
    ),
    pytest.param(
        "Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ (KHTML, like Gecko) "
        "Version/7.1.0.346 Mobile Safari/534.11+",
        id="blackberry",
    ),
    pytest.param(
        "BlackBerry9700/5.0.0.862 Profile/MIDP-2.1 Configuration/CLDC-1.1 VendorID/331",
        id="blackberry-midp",
    ),
    pytest.param(
        "Mozilla/5.0 (PlayBook; U; RIM Tablet OS 2.1.0; en-US) AppleWebKit/536.2+ "
        "(KHTML, like Gecko) Version/7.2.1.0 Safari/536.2+",
        id="playbook",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; U; Linux armv7l; en-GB; rv:1.9.2a1pre) Gecko/20090928 Firefox/3.5 "
        "Maemo Browser 1.4.1.22 RX-51 N900",
        id="maemo",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_3; en-us; Silk/1.0.146.3-Gen4_12000410) "
        "AppleWebKit/533.16 (KHTML, like Gecko) Version/5.0 Safari/533.16 Silk-Accelerated=true",
        id="silk-desktop-mode",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; U; Android 2.3.4; en-us; Kindle Fire Build/GINGERBREAD) "
        "AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
        id="kindle-fire",
    ),
    pytest.param(
        "Mozilla/5.0 (PlayStation Vita 3.61) AppleWebKit/537.73 (KHTML, like Gecko) Silk/3.2",
        id="ps-vita",
    ),
    pytest.param(
        "SAMSUNG-SGH-E250/1.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 UP.Browser/6.2.3.3.c.1.101 "
        "(GUI) MMP/2.0 (compatible; Googlebot-Mobile/2.1; +http://www.google.com/bot.html)",
        id="googlebot-mobile",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux x86_64) Chrome/007.08.0009.1 Safari/537.36", id="leading-zeros"
    ),
    pytest.param("Mozilla/5.0 (Linux; Android ١٢; Pixel) Chrome/١٢٦.0 Mobile", id="arabic-digits"),
    *(pytest.param(ua, id=name) for name, ua, _ in REALISTIC if ua),
    *LATE_BOT_TOKEN,
]


def _through_user_agents_objects(user_agent: str) -> AgentInfo:
    resolver = agent._shared_resolver()
    return _info_from(_reference_agent(user_agent, resolver(user_agent, Domain.ALL)))


def _both_paths(user_agent: str) -> set[AgentInfo]:
    # Through the resolver's __call__, and through its extractors read directly (what
    # AgentParser uses with the Rust engine): both must give the reference answer.
    resolver = agent._shared_resolver()
    return {agent._describe(resolver, user_agent), agent._describer(resolver)(user_agent)}


def test_the_rust_engine_is_read_through_its_extractors() -> None:
    if agent.ENGINE != "regex":
        pytest.skip("ua-parser-rs is not installed")
    assert agent._extractors(agent._shared_resolver()) is not None


@pytest.mark.parametrize("user_agent", RULE_CASES)
def test_fast_path_equals_user_agents_objects(user_agent: str) -> None:
    assert _both_paths(user_agent) == {_through_user_agents_objects(user_agent)}


_PLATFORMS = st.sampled_from(
    [
        "Windows NT 10.0; Win64; x64",
        "Windows NT 6.2; ARM; Trident/6.0; Touch",
        "Windows 98; Win 9x 4.90",
        "Windows 95",
        "Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950",
        "Macintosh; Intel Mac OS X 10_15_7",
        "X11; Linux x86_64",
        "X11; Ubuntu; Linux x86_64",
        "X11; CrOS x86_64 14541.0.0",
        "X11; U; SunOS sun4u",
        "Linux; Android 14; Pixel 8",
        "Linux; Android 13; SM-X710",
        "Linux; Android 9; KFTRWI",
        "Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K",
        "Android 14; Mobile",
        "Android 14; Tablet",
        "Mobile",
        "Tablet",
        "iPhone; CPU iPhone OS 17_5 like Mac OS X",
        "iPad; CPU OS 16_6 like Mac OS X",
        "iPod touch; CPU iPhone OS 12_0 like Mac OS X",
        "Maemo; Linux armv7l",
        "BlackBerry; U; BlackBerry 9900; en",
        "PlayBook; U; RIM Tablet OS 2.1.0; en-US",
        "Symbian/3; Series60/5.2 NokiaN8-00/012.002",
        "J2ME/MIDP",
        "SMART-TV; Linux; Tizen 6.0",
        "PlayStation Vita 3.61",
        "compatible; Googlebot/2.1; +http://www.google.com/bot.html",
        "compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0",
    ]
)
_BROWSERS = st.sampled_from(
    [
        "Chrome/{v}.0.{b}.{p} Safari/537.36",
        "Chrome/{v}.0.{b}.{p} Mobile Safari/537.36",
        "Version/4.0 Chrome/{v}.0.{b}.{p} Mobile Safari/537.36",
        "Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.{b}.{p}",
        "Chrome/{v}.0.0.0 Safari/537.36 OPR/{v}.0.0.0",
        "SamsungBrowser/{v}.{p} Chrome/{v}.0.0.0 Mobile Safari/537.36",
        "Silk/{v}.{p}.{b} like Chrome/{v}.0.{b}.{p} Safari/537.36",
        "CriOS/{v}.0.{b}.{p} Mobile/15E148 Safari/604.1",
        "Version/{v}.{p} Mobile/15E148 Safari/604.1",
        "Version/{v}.{p} Safari/605.1.15",
        "Gecko/20100101 Firefox/{v}.{p}",
        "Gecko/{v}.0 Firefox/{v}.0",
        "NokiaBrowser/{v}.{p}.{b} Mobile Safari/533.4",
        "Opera Mini/{v}.{p}/{b}; U; en) Presto/2.5.25",
        "Googlebot-Mobile/2.1",
        "",
    ]
)
_NUMBERS = st.sampled_from(["0", "00", "07", "1", "10", "126", "6478", "x", "١٢"])


@settings(max_examples=300, deadline=None)
@given(
    platform=_PLATFORMS,
    browser=_BROWSERS,
    v=_NUMBERS,
    b=_NUMBERS,
    p=_NUMBERS,
    tail=st.sampled_from(["", " Mobile", " Tablet", " (compatible; bingbot/2.0)", " wv"]),
)
def test_fast_path_equals_user_agents_objects_on_generated_agents(
    platform: str, browser: str, v: str, b: str, p: str, tail: str
) -> None:
    user_agent = (
        f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"{browser.format(v=v, b=b, p=p)}{tail}"
    )
    assert _both_paths(user_agent) == {_through_user_agents_objects(user_agent)}


_VERSION_PARTS = st.one_of(st.none(), st.text(st.sampled_from("007x٣."), max_size=4))


@given(major=_VERSION_PARTS, minor=_VERSION_PARTS, patch=_VERSION_PARTS)
def test_version_string_is_written_as_user_agents_writes_it(
    major: str | None, minor: str | None, patch: str | None
) -> None:
    # Leading zeros and non-ASCII digits (which ua-parser's pure-Python engine can capture) are
    # where a shortcut could drift from user_agents' int() round trip.
    expected = parse_browser("x", major, minor, patch).version_string
    assert agent._version_string(major, minor, patch) == expected
