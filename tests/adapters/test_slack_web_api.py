"""adapters/slack/web_api.py against the local Slack fake: what it posts, and how it sorts
Slack's failures into retry-later and give-up."""

from __future__ import annotations

import socket

import pytest

from adapters.slack.web_api import (
    SlackConfig,
    SlackRefused,
    SlackRetryable,
    post_message,
    user_profile,
)
from tests.fakes.slack_web_api import BOT_TOKEN, fake_slack


async def test_a_thread_reply_is_posted_with_its_thread_and_the_bot_token():
    async with fake_slack() as slack:
        config = SlackConfig(BOT_TOKEN, slack.url)
        ts = await post_message(config, "C0SUPPORT", "On its way.", thread_ts="1700000000.000100")

        [post] = slack.posts("C0SUPPORT")
        assert post["text"] == "On its way."
        assert post["thread_ts"] == "1700000000.000100"
        assert ts


async def test_slack_down_or_rate_limiting_is_retryable_and_a_refusal_is_not():
    async with fake_slack() as slack:
        config = SlackConfig(BOT_TOKEN, slack.url)
        for status in (503, 500, 429):
            slack.fail_with = status
            with pytest.raises(SlackRetryable):
                await post_message(config, "C0SUPPORT", "hello")
        slack.fail_with = "channel_not_found"
        with pytest.raises(SlackRefused, match="channel_not_found"):
            await post_message(config, "C0SUPPORT", "hello")
        with pytest.raises(SlackRefused, match="invalid_auth"):
            await post_message(SlackConfig("xoxb-wrong", slack.url), "C0SUPPORT", "hello")
        assert slack.posts() == []


async def test_slack_unreachable_is_retryable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SlackRetryable):
        await post_message(SlackConfig(BOT_TOKEN, f"http://127.0.0.1:{port}/api/"), "C1", "x")


async def test_a_users_profile_gives_name_and_email():
    async with fake_slack() as slack:
        slack.users["U0ADA"] = {"name": "Ada Lovelace", "email": "ada@example.com"}
        profile = await user_profile(SlackConfig(BOT_TOKEN, slack.url), "U0ADA")

        assert profile == {"name": "Ada Lovelace", "email": "ada@example.com"}
