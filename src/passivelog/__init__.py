"""passivelog: privacy-first passive-data logging for ASGI apps.

Mount :class:`PassiveLogMiddleware` and every request yields one structured record: the client IP
(reduced as configured), a keyed cookie pseudonym, the scrubbed URL and referrer, the geo region and
the parsed user agent. Personal data is reduced before anything reaches structlog or a sink.
"""

from passivelog.agent import AgentInfo, AgentParser
from passivelog.client import IpReducer, TrustedProxies, resolve_client_ip
from passivelog.cookies import CookieIdentifier
from passivelog.geo import GeoLocator, GeoRegion, MaxMindLocator
from passivelog.middleware import PassiveLogMiddleware
from passivelog.optout import OptOutDecision, OptOutPolicy
from passivelog.pseudonym import EphemeralSecretWarning, Pseudonymiser
from passivelog.schema import FIELDS, FieldSpec
from passivelog.scrub import ReferrerScrubber, Scrubbed, ScrubUrlFields, UrlScrubber, scrub_url
from passivelog.sinks import Dispatcher, FileSink, OtlpSink, Sink, SinkStats, StreamSink, SyslogSink
from passivelog.testing import capture_records

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "AgentInfo",
    "AgentParser",
    "CookieIdentifier",
    "Dispatcher",
    "EphemeralSecretWarning",
    "FieldSpec",
    "FileSink",
    "GeoLocator",
    "GeoRegion",
    "IpReducer",
    "MaxMindLocator",
    "OptOutDecision",
    "OptOutPolicy",
    "OtlpSink",
    "PassiveLogMiddleware",
    "Pseudonymiser",
    "ReferrerScrubber",
    "ScrubUrlFields",
    "Scrubbed",
    "Sink",
    "SinkStats",
    "StreamSink",
    "SyslogSink",
    "TrustedProxies",
    "UrlScrubber",
    "capture_records",
    "resolve_client_ip",
    "scrub_url",
]
