"""The app behind the shared-cache test: a page that reads the opt-out decision, one that does not.

Both answer ``Cache-Control: public, max-age=60``, as pages a site wants a CDN to keep.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from passivelog import PassiveLogMiddleware

CACHEABLE = {"cache-control": "public, max-age=60"}


async def ad_page(request: Request) -> Response:
    # A page with an ad tag that it leaves out for visitors who opted out.
    if request.state.passivelog_opt_out.opted_out:
        return PlainTextResponse("page without ads", headers=CACHEABLE)
    return PlainTextResponse("page with <script src=/ads.js></script>", headers=CACHEABLE)


async def plain(request: Request) -> Response:
    return PlainTextResponse("the same page for everyone", headers=CACHEABLE)


app = PassiveLogMiddleware(
    Starlette(routes=[Route("/ad-page", ad_page), Route("/plain", plain)]),
    secret="cache-test-secret-0123456789",
    output=os.devnull,
    geo_db=None,
)
