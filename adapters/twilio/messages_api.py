"""Sending SMS through Twilio's Messages API with the `twilio` library: the one place that
knows how (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, basic auth AccountSid:AuthToken).

Errors are sorted into the two kinds a caller (an activity) must tell apart:
`TwilioRetryable` (Twilio or the network is down, rate limited, or our credentials are being
fixed: try again later) and `TwilioRefused` (Twilio answered and said no to this message, e.g.
21211 invalid number or 21610 the customer texted STOP: retrying cannot help).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import ClientError
from twilio.base import values
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

TIMEOUT_SECONDS = 15
# Answers that a later attempt may get past: rate limits, Twilio's own failures, and refused
# credentials (an operator fixing HELPDESK_TWILIO_* should not cost the replies meanwhile).
RETRYABLE_STATUSES = frozenset({401, 403, 408, 409, 429})


class TwilioRetryable(Exception):
    """Twilio could not be reached or asked us to come back later."""


class TwilioRefused(Exception):
    """Twilio refused this message for good; `code` is Twilio's error code, when it gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    api_url: str = "https://api.twilio.com"
    # Who the text comes from when the customer wrote to none of our numbers yet: one of our
    # numbers, else a Messaging Service (Twilio picks the sender from its pool).
    from_number: str | None = None
    messaging_service_sid: str | None = None
    # Where Twilio reports each message's delivery (None: no public URL, no reports).
    status_callback_url: str | None = None


@dataclass(frozen=True)
class AcceptedSms:
    sid: str  # "SM…": the status callbacks name it
    status: str  # "queued" (or "accepted" through a Messaging Service)


async def send_sms(config: TwilioConfig, *, to: str, body: str,
                   from_number: str | None) -> AcceptedSms:
    """Create one message; `from_number` None sends from the configured sender."""
    sender = from_number or config.from_number
    if sender is None and config.messaging_service_sid is None:
        raise TwilioRefused("no sender: set HELPDESK_TWILIO_FROM_NUMBER or "
                            "HELPDESK_TWILIO_MESSAGING_SERVICE_SID")
    http = AsyncTwilioHttpClient(timeout=TIMEOUT_SECONDS)
    try:
        created = await _client(config, http).messages.create_async(
            to=to, body=body, from_=sender or values.unset,
            messaging_service_sid=values.unset if sender else config.messaging_service_sid,
            status_callback=config.status_callback_url or values.unset)
    except TwilioRestException as err:
        raise _sorted(err) from err
    except (ClientError, TimeoutError, OSError) as err:
        raise TwilioRetryable(f"Twilio unreachable: {err!r}") from err
    finally:
        await http.close()
    return AcceptedSms(sid=str(created.sid), status=str(created.status))


def _client(config: TwilioConfig, http: AsyncTwilioHttpClient) -> Client:
    client = Client(config.account_sid, config.auth_token, http_client=http)
    # The library always calls api.twilio.com; the domain's base URL is where it builds
    # every URL from, so a test (or an egress proxy) can stand in for it.
    client.api.base_url = config.api_url.rstrip("/")
    return client


def _sorted(err: TwilioRestException) -> Exception:
    what = f"Twilio answered {err.status}" + (f" (error {err.code})" if err.code else "") \
        + (f": {err.msg}" if err.msg else "")
    if err.status >= 500 or err.status in RETRYABLE_STATUSES:
        return TwilioRetryable(what)
    return TwilioRefused(what, err.code)
