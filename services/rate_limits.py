"""Abuse limits: requests per API token and intakes per sender address, counted by `limits`."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from sqlalchemy.engine import URL

from services.postgres_rate_limits import PostgresSlidingWindows, rate_limit_engine
from services.problems import Problem
from settings import Settings

log = logging.getLogger("helpdesk.api")


class RateLimits:
    def __init__(self, *, per_token: str, per_sender: str, storage_uri: str | None,
                 database: URL | None = None, sign_in_per_address: str = "5/15 minutes",
                 sign_in_per_ip: str = "30/15 minutes") -> None:
        """Counted in `storage_uri` (memory://, redis://...) or, when that is None, in the
        PostgreSQL at `database`, which every API process shares."""
        self._per_token = _parse_limit("HELPDESK_RATE_LIMIT_PER_TOKEN", per_token)
        self._per_sender = _parse_limit("HELPDESK_RATE_LIMIT_PER_SENDER", per_sender)
        self._failed_sign_ins = (
            (_parse_limit("HELPDESK_SIGNIN_LIMIT_PER_ADDRESS", sign_in_per_address), "signin"),
            (_parse_limit("HELPDESK_SIGNIN_LIMIT_PER_IP", sign_in_per_ip), "signin-ip"))
        # Sliding window counter, whatever the storage: the hits of the current fixed window
        # plus the previous window's weighted by how much of it still overlaps the last
        # `period`. No double burst at a window edge (as plain fixed windows allow), and two
        # counts per key, so a check in PostgreSQL is one small row update. A moving window
        # is exact but stores every hit (1,200 timestamps per token at the default limit),
        # too heavy to share through PostgreSQL on every request. The price: it assumes the
        # previous window's hits were spread evenly, so a limit may bend by a hit or two.
        self._storage = _storage(storage_uri, database)
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)

    @classmethod
    def from_settings(cls, settings: Settings, *, database: URL | None = None) -> RateLimits:
        return cls(
            per_token=settings.rate_limit_per_token,
            per_sender=settings.rate_limit_per_sender,
            storage_uri=settings.rate_limit_storage, database=database,
            sign_in_per_address=settings.signin_limit_per_address,
            sign_in_per_ip=settings.signin_limit_per_ip,
        )

    async def close(self) -> None:
        if isinstance(self._storage, PostgresSlidingWindows):
            await self._storage.engine.dispose()

    async def hit_token(self, token_id: str) -> None:
        await self._hit(self._per_token, "token", token_id, what="this token")

    async def hit_sender(self, email: str) -> None:
        address = email.strip().lower()
        await self._hit(self._per_sender, "sender", address, what="this sender address")

    async def check_sign_in(self, address: str, ip: str) -> None:
        """429 once this address or this client has failed to sign in too often lately:
        checked before the password is, so guessing costs the guesser, not the server."""
        for (limit, namespace), key in zip(self._failed_sign_ins, (address.lower(), ip),
                                           strict=True):
            try:
                allowed = await self._limiter.test(limit, namespace, key)
            except Exception as err:  # noqa: BLE001 - fail open, as for every limit
                log.warning("rate limit storage failed; allowing the sign-in: %s", err)
                return
            if not allowed:
                await self._refuse(limit, namespace, key,
                                   what="failed sign-ins for this address or from here")

    async def hit_sign_in_link(self, address: str, ip: str) -> None:
        """429 once this address or this client has asked for too many portal sign-in links
        lately (the workspace's sign-in limits, counted apart): every request counts, known
        address or not, so the limit tells nothing about which addresses have tickets."""
        for (limit, namespace), key in zip(self._failed_sign_ins, (address.strip().lower(), ip),
                                           strict=True):
            await self._hit(limit, f"portal-{namespace}", key,
                            what="sign-in links for this address or from here")

    async def sign_in_failed(self, address: str, ip: str) -> None:
        for (limit, namespace), key in zip(self._failed_sign_ins, (address.lower(), ip),
                                           strict=True):
            try:
                await self._limiter.hit(limit, namespace, key)
            except Exception as err:  # noqa: BLE001
                log.warning("rate limit storage failed; a failed sign-in went uncounted: %s",
                            err)

    async def _hit(self, limit: RateLimitItem, namespace: str, key: str, *, what: str) -> None:
        # The namespace is the first key part, so a token id can never count against a sender.
        try:
            if await self._limiter.hit(limit, namespace, key):
                return
        except Exception as err:  # noqa: BLE001 - any storage failure is the same to us
            # Fail open: a Redis outage must not turn away every ticket and reply.
            log.warning("rate limit storage failed; allowing the request: %s", err)
            return
        await self._refuse(limit, namespace, key, what=what)

    async def _refuse(self, limit: RateLimitItem, namespace: str, key: str, *,
                      what: str) -> None:
        stats = await self._limiter.get_window_stats(limit, namespace, key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise Problem(429, "rate-limited", "Too many requests",
                      f"{what} is limited to {limit}", retry_after_seconds=retry_after)


def _parse_limit(setting: str, value: str) -> RateLimitItem:
    try:
        items = parse_many(value)
    except ValueError as exc:
        raise ValueError(f"{setting}={value!r} is not a rate limit: {exc}") from None
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(f"{setting}={value!r} must be one positive limit, like '20/minute'")
    return items[0]


def _storage(uri: str | None, database: URL | None) -> Storage:
    if uri is None:
        if database is None:
            raise ValueError("HELPDESK_RATE_LIMIT_STORAGE is unset (PostgreSQL) but no database "
                             "was given to count in")
        return PostgresSlidingWindows(rate_limit_engine(database))
    # Settings use the plain URIs people know (memory://, redis://); `limits` wants async+ ones.
    async_uri = uri if uri.startswith("async+") else f"async+{uri}"
    try:
        storage = storage_from_string(async_uri)
        if not isinstance(storage, Storage):
            raise ConfigurationError(f"{async_uri} is not an async storage")
        SlidingWindowCounterRateLimiter(storage)  # raises if the backend has no such counter
        return storage
    except (ConfigurationError, NotImplementedError, ValueError) as exc:
        raise ValueError(f"HELPDESK_RATE_LIMIT_STORAGE={uri!r} is not usable: {exc}") from None
