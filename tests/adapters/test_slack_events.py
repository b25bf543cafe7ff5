"""adapters/slack/events.py: which requests are Slack's (signed as Slack's documentation
signs its example request) and which message events the desk takes."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from slack_sdk.signature import Clock

from adapters.slack.events import SlackMessage, person_message, readable, signed_by_slack
from services.schemas import MessageCreate

# Slack's worked example (docs.slack.dev, "Verifying requests from Slack").
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
TIMESTAMP = 1531420618
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class At(Clock):
    def __init__(self, now: float) -> None:
        self.at = now

    def now(self) -> float:
        return self.at


def headers(timestamp: int | str = TIMESTAMP, signature: str = SIGNATURE) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def test_slack_s_own_example_request_verifies_within_five_minutes_only():
    # Our own HMAC of the documented base string gives the documented signature.
    base = f"v0:{TIMESTAMP}:".encode() + BODY
    assert "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest() == SIGNATURE

    assert signed_by_slack(SECRET, BODY, headers(), At(TIMESTAMP + 10))
    assert signed_by_slack(SECRET, BODY, headers(), At(TIMESTAMP + 300))
    assert not signed_by_slack(SECRET, BODY, headers(), At(TIMESTAMP + 301))
    assert not signed_by_slack(SECRET, BODY, headers(), At(TIMESTAMP - 301))


def test_anything_but_the_exact_signature_is_refused_without_an_exception():
    now = At(TIMESTAMP)
    assert not signed_by_slack("another-secret", BODY, headers(), now)
    assert not signed_by_slack(SECRET, BODY + b"&x=1", headers(), now)
    assert not signed_by_slack(SECRET, BODY, headers(TIMESTAMP + 1), At(TIMESTAMP + 1))
    assert not signed_by_slack(SECRET, BODY, {}, now)
    assert not signed_by_slack(SECRET, BODY, headers("yesterday"), now)
    assert not signed_by_slack(SECRET, b"\xff\xfe", headers(), now)
    assert not signed_by_slack(SECRET, BODY, headers(signature=SIGNATURE.upper()), now)


def callback(**event: object) -> dict[str, Any]:
    return {"type": "event_callback", "event_id": "Ev1", "event": {
        "type": "message", "channel": "C0HELP", "user": "U0ADA", "text": "hi",
        "ts": "1700000000.000100"} | event}


def test_a_person_s_messages_and_thread_replies_are_taken():
    plain = person_message(callback())
    assert plain == SlackMessage("C0HELP", "1700000000.000100", None, "U0ADA", "hi")
    assert isinstance(plain, SlackMessage) and not plain.is_reply

    first_of_thread = person_message(callback(thread_ts="1700000000.000100"))
    assert isinstance(first_of_thread, SlackMessage) and not first_of_thread.is_reply
    for subtype in (None, "thread_broadcast", "file_share"):
        reply = person_message(callback(thread_ts="1699999999.000001", subtype=subtype))
        assert isinstance(reply, SlackMessage) and reply.is_reply, subtype

    # Its Message-ID is one the API takes, stable across deliveries.
    assert MessageCreate(body="x", message_id=plain.message_id).message_id == \
        "<1700000000.000100.c0help@slack.invalid>"


def test_bots_edits_deletions_and_other_events_are_left_alone():
    refused: dict[str, dict[str, Any]] = {
        "bot": callback(bot_id="B0DESK"),
        "bot message": callback(subtype="bot_message"),
        "edit": callback(subtype="message_changed"),
        "deletion": callback(subtype="message_deleted"),
        "join": callback(subtype="channel_join"),
        "no user": callback(user=None),
        "reaction": callback(type="reaction_added"),
        "url check": {"type": "url_verification", "challenge": "x"},
    }
    for what, payload in refused.items():
        assert isinstance(person_message(payload), str), what


def test_text_is_kept_as_typed():
    assert readable("a &lt;b&gt; &amp; c ") == "a <b> & c"
    assert readable("") == readable(None) == \
        "(a message with no text: files or blocks only, see Slack)"
