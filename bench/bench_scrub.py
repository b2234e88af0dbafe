"""Benchmark of the URL scrubber: typical referrers, and hostile input.

Run with ``python bench/bench_scrub.py``. Prints, for typical referrers (~150 characters, 5
parameters), the median microseconds per call with a warm cache and with the cache off, next to
``urlsplit`` + ``parse_qsl`` of the same URLs measured in the same run (the cost of merely parsing
them); then, for each adversarial input of ~100 KB, in three shapes (see ``_shapes``), the worst
over ``scrub_url``, ``scrub_path`` and ``scrub_query`` of the median milliseconds per call, and the
slowest single call (which on a busy machine includes garbage collection and scheduling). Exits 1
when a budget is missed: 5 us median for a typical referrer with a warm cache, 5 ms for any
adversarial input.

Not part of the test run.
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import string
import sys
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlsplit

from passivelog.scrub import UrlScrubber

TYPICAL = [
    "https://www.example.com/products/running-shoes?utm_source=newsletter&utm_medium=email"
    "&utm_campaign=spring_sale_2024&page=2&sort=price_asc",
    "https://shop.example.org/category/womens-dresses/summer?size=m&color=navy&page=3"
    "&sort=newest&ref=homepage_banner",
    "https://www.example.com/unsubscribe?email=jane.doe%40example.com&list=weekly"
    "&utm_source=newsletter&utm_medium=email&utm_campaign=q3",
    "https://blog.example.net/2024/05/17/how-to-make-sourdough-bread?utm_source=twitter"
    "&utm_medium=social&lang=en&tab=comments&v=2",
]

TYPICAL_BUDGET_US = 5.0
HOSTILE_BUDGET_MS = 5.0
SIZE = 100_000


def _nested_url(size: int) -> str:
    url = "https://x.example/?email=jane.doe%40example.com"
    while len(url) < size:
        url = "https://x.example/r?u=" + quote(url, safe="") + "&page=2"
    return url


def _json_lists() -> list[str]:
    """Whole JSON arrays (strings, small and large numbers, dates, addresses) in one query value
    just under ``max_length``, so that they are parsed and walked rather than cut."""
    urls = []
    for items in (['"ab"', "12", '"x@y"', "1.5"], ["12345678"], ['"2024-01-15"'], ['"a@b.co"']):
        count = 1
        while len(_json_url(items * (count + 1))) < 8100:
            count += 1
        urls.append(_json_url(items * count))
    return urls


def _json_url(items: list[str]) -> str:
    return "https://x.example/?s=" + quote("[" + ",".join(items) + "]", safe="")


def _nested_base64() -> str:
    """Base64 of base64 of ... an e-mail address, as deep as fits the decoding limit, in every
    value of a query string: each level is decoded and read again."""
    text = "jane.doe@example.com"
    while len(encoded := base64.b64encode(text.encode()).decode()) <= 1024:
        text = encoded
    return "&v=" + text


def _random_b64url(size: int) -> str:
    rng = random.Random(7)
    return "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=size))


# Each pattern is repeated to the size wanted (see _shapes); a list holds ready-made inputs.
HOSTILE: dict[str, str | list[str]] = {
    "card trap 1-1-1-": "1-",
    "digits and spaces": "1 ",
    "digit pairs 11-11-": "11-",
    "card-like groups": "1111-",
    "valid cards": "4111 1111 1111 1111 ",
    "phones": "+44 20 7946 0958 ",
    "e-mails": "jane.doe@example.com ",
    "run without @": "a",
    "a@a@a@": "a@",
    "dots and @": "a.a.a.a.a.a.a.a@",
    "dotted quads": "1.",
    "colons": ":",
    "hex and colons": "1:",
    "IBAN starts": "DE89 ",
    "valid IBANs": "DE89 3704 0044 0532 0130 00 ",
    "JWT starts": "eyJa.",
    "Bearer prefixes": "Bearer aaaaaaaaaa1 ",
    "random base64url": _random_b64url(SIZE),
    "repeated token": "x9Kq2LmP7vRt4WzY8bNc3HdJ ",
    "deep percent-encoding": "%25",
    "percent signs": "%",
    "nested URLs": _nested_url(SIZE),
    "JSON nesting": quote('{"a":', safe=""),
    "JSON arrays": _json_lists(),
    "brackets": "[",
    "ampersands": "&",
    "equals": "=",
    "query starts": "?a=",
    "pairs": "&a=1",
    "semicolons": "b;",
    "slashes": "/",
    "hash routes": "#/",
    "non-ASCII": "é\u2028",
    "base64 e-mails": "YUBiLmNv/",
    "nested base64": _nested_base64(),
}


def _per_call_us(func: Callable[[], object], number: int, repeat: int) -> float:
    """Median over ``repeat`` rounds of the mean time per call, in microseconds."""
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        rounds.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(rounds)


def typical(number: int, repeat: int) -> float:
    cached = UrlScrubber()
    uncached = UrlScrubber(cache_size=0)
    for url in TYPICAL:
        cached.scrub_url(url)  # warm the cache
    rows = []
    for label, func in (
        ("scrub_url, warm cache", cached.scrub_url),
        ("scrub_url, no cache", uncached.scrub_url),
        ("urlsplit + parse_qsl", lambda u: parse_qsl(urlsplit(u).query)),
    ):
        times = [_per_call_us(lambda f=func, u=url: f(u), number, repeat) for url in TYPICAL]  # type: ignore[misc]
        rows.append((label, statistics.median(times), max(times)))
    print(f"typical referrers: {len(TYPICAL)} URLs of ~{len(TYPICAL[0])} characters, 5 parameters")
    baseline = rows[-1][1]
    for label, median, worst in rows:
        print(f"  {label:<24} median {median:6.2f} us   worst URL {worst:6.2f} us   "
              f"x{median / baseline:5.1f} of parsing")  # fmt: skip
    return rows[0][1]


def _shapes(pattern: str) -> list[str]:
    """The pattern as a whole ~100 KB URL, as one query value just under ``max_length`` (so it is
    scanned, not cut), and as ~100 KB of 1 KB parameters (the first 8 KB of which are scanned)."""
    whole = (pattern * (SIZE // len(pattern) + 1))[:SIZE]
    value = "https://x.example/p?q=" + whole[:8100]
    params = "https://x.example/p?" + "&".join(f"k{i}=" + whole[:1000] for i in range(SIZE // 1000))
    return [whole, value, params]


def hostile(repeat: int) -> float:
    scrubber = UrlScrubber(cache_size=0)
    methods = (scrubber.scrub_url, scrubber.scrub_path, scrubber.scrub_query)
    print(
        f"adversarial inputs (~{SIZE // 1000} KB): median of {repeat} runs for each of three "
        "shapes x url/path/query, the worst of those, and the single slowest run"
    )
    worst_overall = 0.0
    for name, pattern in HOSTILE.items():
        worst = slowest = 0.0
        rules: set[str] = set()
        for text in _shapes(pattern) if isinstance(pattern, str) else pattern:
            for method in methods:
                runs = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    result = method(text)
                    runs.append((time.perf_counter() - start) * 1e3)
                    rules.update(result.rules)
                worst = max(worst, statistics.median(runs))
                slowest = max(slowest, *runs)
        worst_overall = max(worst_overall, worst)
        flag = "" if worst <= HOSTILE_BUDGET_MS else "  OVER BUDGET"
        print(f"  {name:<22} worst {worst:6.3f} ms  (slowest run {slowest:6.3f} ms)  "
              f"rules {','.join(sorted(rules)) or '-'}{flag}")  # fmt: skip
    return worst_overall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing round")
    parser.add_argument("--repeat", type=int, default=7, help="timing rounds")
    args = parser.parse_args()
    typical_us = typical(args.number, args.repeat)
    worst_ms = hostile(5)
    ok = typical_us <= TYPICAL_BUDGET_US and worst_ms <= HOSTILE_BUDGET_MS
    print(f"budgets: typical warm {typical_us:.2f} us (<= {TYPICAL_BUDGET_US}), "
          f"worst adversarial {worst_ms:.2f} ms (<= {HOSTILE_BUDGET_MS}): "
          f"{'met' if ok else 'MISSED'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
