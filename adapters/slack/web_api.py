"""Posting to Slack through its Web API with `slack_sdk`: the one place that knows how.

Errors are sorted into the two kinds a caller (an activity) must tell apart: `SlackRetryable`
(Slack or the network is down, rate limited: try again later) and `SlackRefused` (Slack
answered and said no, e.g. `channel_not_found`: retrying cannot help).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

# Slack's errors that a later attempt may get past; any other `ok: false` is final.
RETRYABLE_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error",
                              "service_unavailable", "request_timeout"})
TIMEOUT_SECONDS = 10


class SlackRetryable(Exception):
    """Slack could not be reached or asked us to come back later."""


class SlackRefused(Exception):
    """Slack refused the call for good (its `error` code is the message)."""


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    api_url: str = "https://slack.com/api/"


def client(config: SlackConfig) -> AsyncWebClient:
    return AsyncWebClient(token=config.bot_token, base_url=config.api_url,
                          timeout=TIMEOUT_SECONDS)


async def post_message(config: SlackConfig, channel: str, text: str,
                       thread_ts: str | None = None) -> str:
    """`chat.postMessage` to a channel (a thread of it when `thread_ts` is given) or, with a
    user id as `channel`, to the app's direct messages with that user; the message's `ts`."""
    try:
        response = await client(config).chat_postMessage(channel=channel, text=text,
                                                         thread_ts=thread_ts)
    except SlackApiError as err:
        raise _sorted(err) from err
    except (ClientError, TimeoutError, OSError) as err:
        raise SlackRetryable(f"Slack unreachable: {err!r}") from err
    return str(response["ts"])


async def user_profile(config: SlackConfig, user_id: str) -> dict[str, str | None]:
    """A Slack user's display name and email (`users.info`; the email only with the
    `users:read.email` scope)."""
    try:
        response = await client(config).users_info(user=user_id)
    except SlackApiError as err:
        raise _sorted(err) from err
    except (ClientError, TimeoutError, OSError) as err:
        raise SlackRetryable(f"Slack unreachable: {err!r}") from err
    user = response["user"]
    profile = user.get("profile", {})
    return {"name": profile.get("real_name") or user.get("real_name") or user.get("name"),
            "email": profile.get("email")}


def _sorted(err: SlackApiError) -> Exception:
    status = err.response.status_code
    data = err.response.data  # a dict for Slack's JSON, text for a proxy's error page
    code = str(data.get("error", "")) if isinstance(data, dict) else ""
    if status == 429 or status >= 500 or code in RETRYABLE_ERRORS:
        return SlackRetryable(f"Slack answered {status} {code}".strip())
    return SlackRefused(code or f"HTTP {status}")


async def lookup_user_by_email(config: SlackConfig, email: str) -> str:
    """The Slack user id of the member with this email (`users.lookupByEmail`, scope
    `users:read.email`); SlackRefused("users_not_found") when the workspace has none."""
    try:
        response = await client(config).users_lookupByEmail(email=email)
    except SlackApiError as err:
        raise _sorted(err) from err
    except (ClientError, TimeoutError, OSError) as err:
        raise SlackRetryable(f"Slack unreachable: {err!r}") from err
    return str(response["user"]["id"])
