"""SMS through Twilio, end to end: Twilio's webhooks signed the real way (and forged, for
the wrong URL, replayed) reach the desk's endpoints; texts thread onto the customer's open
SMS ticket; an agent's reply goes out through a local fake of Twilio's Messages API that
checks our credentials and every form field; and status callbacks move its delivery."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.mail import MailSender
from adapters.email.smtp_client import SmtpConfig
from adapters.twilio import SMS_INBOUND_PATH, SMS_STATUS_PATH
from adapters.twilio.signatures import signature_for
from settings import Settings
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    eventually,
    make_agent,
    post_message,
    rows,
    scalar,
    set_status,
)
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, fake_twilio
from tests.mail_sink import HOST, MailSink, listening
from tests.sockets import free_port
from tests.support import api_client, running_worker
from worker import sms_sender
from workflows.sms_reply import workflow_id

PUBLIC = "https://help.example.com"
OURS = "+15550001111"
DEFAULT_SENDER = "+15550009999"
ADA = "+447700900123"
ADA_EMAIL = "sms.447700900123@no-mail.example"
TEAM = "Texts"
SUPPORT = "support@helpdesk.example"


def desk_settings(twilio: FakeTwilio, **overrides: str) -> dict[str, str]:
    return {"HELPDESK_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "HELPDESK_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "HELPDESK_TWILIO_API_URL": twilio.url, "HELPDESK_PUBLIC_URL": PUBLIC,
            "HELPDESK_TWILIO_NUMBER_TEAMS": f"{OURS}={TEAM}",
            "HELPDESK_TWILIO_FROM_NUMBER": DEFAULT_SENDER,
            # Outbound mail is on: an SMS customer's replies must still never be mailed.
            "HELPDESK_SUPPORT_ADDRESSES": SUPPORT, "HELPDESK_SMTP_OUT_HOST": HOST,
            "HELPDESK_SMTP_OUT_SECURITY": "none"} | overrides


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with fake_twilio() as fake:
        yield fake


@pytest.fixture
def sink() -> MailSink:
    return MailSink(port=free_port())


async def _desk(client: Client, engine: AsyncEngine, task_queue: str, database_url: str,
                twilio: FakeTwilio, sink: MailSink) -> AsyncIterator[httpx.AsyncClient]:
    env = desk_settings(twilio, HELPDESK_SMTP_OUT_PORT=str(sink.port))
    sender = MailSender(SmtpConfig(HOST, sink.port, security="none", timeout=5),
                        from_address=SUPPORT, from_name="Acme")
    settings = Settings(**env)  # type: ignore[arg-type]
    with listening(sink):
        async with running_worker(client, engine, task_queue, sender,
                                  sms_sender=sms_sender(settings)), \
                api_client(client, engine, task_queue, database_url, **env) as http:
            yield http


@pytest.fixture
async def desk(dev_client, engine, task_queue, database_url, twilio, sink
               ) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _desk(dev_client, engine, task_queue, database_url, twilio, sink):
        yield http


def webhook_form(*, body: str, sid: str, from_: str = ADA, to: str = OURS,
                 **extra: str) -> dict[str, str]:
    """What Twilio posts for an incoming SMS (its documented fields)."""
    return {"ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0",
            "ToCity": "", "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received",
            "FromCity": "", "Body": body, "FromCountry": "GB", "To": to, "ToZip": "",
            "NumSegments": "1", "MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": from_,
            "ApiVersion": "2010-04-01"} | extra


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


async def twilio_post(http: httpx.AsyncClient, path: str, form: dict[str, str], *,
                      token: str = AUTH_TOKEN, signed_url: str | None = None,
                      signature: str | None = None) -> httpx.Response:
    """A request as Twilio makes it: form-encoded, signed over the URL it called (the
    public one), no bearer token."""
    sig = signature if signature is not None else signature_for(
        token, signed_url or PUBLIC + path, form)
    headers = {"Authorization": ""} | ({"X-Twilio-Signature": sig} if sig else {})
    return await http.post(path, data=form, headers=headers)


async def text_in(http: httpx.AsyncClient, body: str, sid: str | None = None,
                  **kwargs: Any) -> httpx.Response:
    response = await twilio_post(http, SMS_INBOUND_PATH,
                                 webhook_form(body=body, sid=sid or new_sid()), **kwargs)
    return response


def assert_empty_twiml(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def sms_tickets(engine: AsyncEngine) -> list[Any]:
    return await rows(engine, "SELECT public_ref, status, customer_email, team_id FROM tickets "
                              "WHERE channel = 'sms' ORDER BY created_at")


async def bodies(http: httpx.AsyncClient, ref: str) -> list[str]:
    page = (await http.get(f"{TICKETS}/{ref}/messages")).json()
    return [m["body"] for m in page["items"]]


async def close(http: httpx.AsyncClient, ref: str, agent: dict[str, Any]) -> None:
    assert (await assign(http, ref, agent["id"])).status_code == 200
    for status in ("in_progress", "resolved", "closed"):
        assert (await set_status(http, ref, status)).status_code == 200, status


# ---------------------------------------------------------------- inbound


async def test_a_signed_text_opens_an_sms_ticket_for_the_number_on_its_team(desk, engine):
    agent = await make_agent(desk, team=TEAM)

    assert_empty_twiml(await text_in(desk, "My parcel never came"))

    [ticket] = await sms_tickets(engine)
    ref, status, email, team_id = ticket
    assert email == ADA_EMAIL and str(team_id) == agent["team_id"]
    shown = (await desk.get(f"{TICKETS}/{ref}")).json()
    assert shown["channel"] == "sms" and shown["subject"].startswith(f"SMS from {ADA}")
    assert await bodies(desk, ref) == ["My parcel never came"]


async def test_unsigned_forged_and_misdirected_texts_are_refused_and_store_nothing(desk, engine):
    form = webhook_form(body="free money", sid=new_sid())
    refused = [
        await twilio_post(desk, SMS_INBOUND_PATH, form, signature=""),  # no header at all
        await twilio_post(desk, SMS_INBOUND_PATH, form, token="0" * 32),  # another token
        # Signed for the URL our server sees, not the public one Twilio calls.
        await twilio_post(desk, SMS_INBOUND_PATH, form,
                          signed_url=f"http://test{SMS_INBOUND_PATH}"),
        # Signed, then the body was changed on the way.
        await twilio_post(desk, SMS_INBOUND_PATH, form | {"Body": "send me the codes"},
                          signature=signature_for(AUTH_TOKEN, PUBLIC + SMS_INBOUND_PATH, form)),
    ]

    for response in refused:
        assert_problem(response, 403, "bad-twilio-signature")
    assert await sms_tickets(engine) == []
    assert await scalar(engine, "SELECT count(*) FROM sms_inbound") == 0


async def test_a_replayed_text_is_stored_once_even_after_its_ticket_closed(desk, engine):
    agent = await make_agent(desk, team=TEAM)
    sid = new_sid()
    first = await text_in(desk, "Where is my order?", sid=sid)
    again = await text_in(desk, "Where is my order?", sid=sid)  # Twilio's retry, or a replay

    assert_empty_twiml(first)
    assert_empty_twiml(again)
    [(ref, *_)] = await sms_tickets(engine)
    assert await bodies(desk, ref) == ["Where is my order?"]

    # A signature never expires: replayed once the ticket is closed, it must not open
    # another ticket either.
    await close(desk, ref, agent)
    assert_empty_twiml(await text_in(desk, "Where is my order?", sid=sid))
    assert len(await sms_tickets(engine)) == 1


async def test_texts_thread_onto_the_open_ticket_and_a_new_one_after_it_closes(desk, engine):
    agent = await make_agent(desk, team=TEAM)
    await text_in(desk, "Hello, my order is late")
    await text_in(desk, "It is order 1042")
    [(ref, *_)] = await sms_tickets(engine)
    assert await bodies(desk, ref) == ["Hello, my order is late", "It is order 1042"]

    await close(desk, ref, agent)
    await text_in(desk, "Another question")

    tickets = await sms_tickets(engine)
    assert [t[1] for t in tickets] == ["closed", "new"]
    assert await bodies(desk, tickets[1][0]) == ["Another question"]
    assert await bodies(desk, ref) == ["Hello, my order is late", "It is order 1042"]


async def test_a_text_with_a_nul_is_taken_cleaned_not_refused(desk, engine):
    # Twilio would retry a refusal, then give up on the text: it is stored without the NUL.
    assert_empty_twiml(await text_in(desk, "Parcel\x00 lost"))
    [(ref, *_)] = await sms_tickets(engine)
    assert await bodies(desk, ref) == ["Parcel lost"]


async def test_an_mms_says_its_pictures_are_not_shown(desk, engine):
    form = webhook_form(body="", sid=new_sid(), NumMedia="1",
                        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Media/ME1",
                        MediaContentType0="image/jpeg")
    assert_empty_twiml(await twilio_post(desk, SMS_INBOUND_PATH, form))

    [(ref, *_)] = await sms_tickets(engine)
    assert await bodies(desk, ref) == [
        "[1 picture(s) or file(s) sent by MMS are not shown here]"]


async def test_without_a_token_the_desk_refuses_texts(dev_client, engine, task_queue,
                                                     database_url):
    async with api_client(dev_client, engine, task_queue, database_url) as http:
        response = await text_in(http, "hello")

    assert_problem(response, 503, "sms-not-configured")
    assert await sms_tickets(engine) == []


async def test_without_a_public_url_the_url_requested_is_what_is_signed(
        dev_client, engine, task_queue, database_url, twilio):
    env = desk_settings(twilio)
    del env["HELPDESK_PUBLIC_URL"]
    async with running_worker(dev_client, engine, task_queue), \
            api_client(dev_client, engine, task_queue, database_url, **env) as http:
        as_seen = await text_in(http, "hi", signed_url=f"http://test{SMS_INBOUND_PATH}")
        as_public = await text_in(http, "hi", signed_url=PUBLIC + SMS_INBOUND_PATH)

    assert_empty_twiml(as_seen)
    assert_problem(as_public, 403, "bad-twilio-signature")


async def test_a_text_that_is_not_from_a_phone_number_is_refused(desk, engine):
    form = webhook_form(body="hi", sid=new_sid(), From="whatsapp:+447700900123")
    assert_problem(await twilio_post(desk, SMS_INBOUND_PATH, form), 422, "invalid-sms")
    assert await sms_tickets(engine) == []


# ---------------------------------------------------------------- outbound


async def conversation(desk: httpx.AsyncClient, engine: AsyncEngine) -> tuple[str, dict]:
    agent = await make_agent(desk, team=TEAM)
    await text_in(desk, "Is my order shipped?")
    [(ref, *_)] = await sms_tickets(engine)
    return ref, agent


async def reply(desk: httpx.AsyncClient, ref: str, agent: dict, body: str,
                visibility: str = "public") -> str:
    response = await post_message(desk, ref, body=body, author_type=None,
                                  token=agent["token"], visibility=visibility)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def delivery(desk: httpx.AsyncClient, ref: str, message_id: str) -> dict | None:
    page = (await desk.get(f"{TICKETS}/{ref}/messages")).json()
    # None too while the reply is not projected yet (an agent's post answers before that).
    return next((m["delivery"] for m in page["items"] if m["id"] == message_id), None)


async def status_of(desk: httpx.AsyncClient, ref: str, message_id: str) -> str | None:
    found = await delivery(desk, ref, message_id)
    return found["status"] if found else None


async def delivered_as(desk, ref, message_id, status: str) -> dict:
    async def reached() -> bool:
        found = await delivery(desk, ref, message_id)
        return found is not None and found["status"] == status
    await eventually(reached, within=20)
    found = await delivery(desk, ref, message_id)
    assert found is not None
    return found


async def test_an_agents_reply_is_texted_once_from_the_number_the_customer_wrote_to(
        desk, engine, twilio, sink):
    ref, agent = await conversation(desk, engine)
    await reply(desk, ref, agent, "Only for the team: check the warehouse", "internal")
    message_id = await reply(desk, ref, agent, "Yes! It left our warehouse today.")

    await delivered_as(desk, ref, message_id, "accepted")
    [sent] = twilio.messages()
    assert {k: v for k, v in sent.items() if k != "sid"} == {
        "To": ADA, "From": OURS, "Body": "Yes! It left our warehouse today.",
        "StatusCallback": PUBLIC + SMS_STATUS_PATH}
    [request] = twilio.requests
    assert request.auth == (ACCOUNT_SID, AUTH_TOKEN) and request.account_sid == ACCOUNT_SID
    assert await rows(engine, "SELECT part, parts, twilio_sid, encoding, segments "
                              "FROM sms_outbound") == [(1, 1, sent["sid"], "GSM-7", 1)]
    assert sink.messages() == []  # the stand-in address is never mailed


async def test_a_ticket_an_agent_opened_for_a_number_is_texted_from_the_default_sender(
        desk, engine, twilio):
    agent = await make_agent(desk, team=TEAM)
    opened = await desk.post(TICKETS, headers={"Idempotency-Key": new_sid()}, json={
        "subject": "Your callback", "body": "Customer called about order 1042",
        "customer_email": ADA_EMAIL, "channel": "sms", "team_id": agent["team_id"]})
    assert opened.status_code == 201, opened.text

    message_id = await reply(desk, opened.json()["public_ref"], agent, "We called: text us back")

    await delivered_as(desk, opened.json()["public_ref"], message_id, "accepted")
    [sent] = twilio.messages()
    assert (sent["To"], sent["From"]) == (ADA, DEFAULT_SENDER)


async def test_a_long_reply_goes_as_several_texts_cut_between_sentences(desk, engine, twilio):
    ref, agent = await conversation(desk, engine)
    sentence = "Your replacement ships from Leeds on Monday. "
    long_reply = (sentence * 45).strip()  # 2,024 characters: over Twilio's 1,600

    message_id = await reply(desk, ref, agent, long_reply)

    await delivered_as(desk, ref, message_id, "accepted")
    sent = [m["Body"] for m in twilio.messages()]
    assert len(sent) == 2 and all(len(b) <= 1600 for b in sent)
    assert all(b.endswith("Monday.") for b in sent)
    assert " ".join(sent) == long_reply
    parts = await rows(engine, "SELECT part, parts, segments FROM sms_outbound ORDER BY part")
    assert [(p, n) for p, n, _ in parts] == [(1, 2), (2, 2)]
    assert parts[0][2] == -(-len(sent[0]) // 153)  # GSM-7 parts of 153


async def test_a_number_twilio_refuses_fails_the_reply_visibly(desk, engine, twilio):
    ref, agent = await conversation(desk, engine)
    twilio.refuse[ADA] = 21610  # the customer texted STOP

    message_id = await reply(desk, ref, agent, "Are you still there?")

    failed = await delivered_as(desk, ref, message_id, "failed")
    assert "21610" in failed["error"]
    assert twilio.messages() == [] and len(twilio.requests) == 1  # refused: not retried
    metrics = (await desk.get("/metrics")).text
    assert 'helpdesk_outbound_sms_messages{status="failed"} 1.0' in metrics


async def test_a_failed_reply_can_be_texted_again_once_the_customer_can_be_reached(
        desk, engine, twilio):
    ref, agent = await conversation(desk, engine)
    twilio.refuse[ADA] = 21610
    message_id = await reply(desk, ref, agent, "Your refund is through")
    await delivered_as(desk, ref, message_id, "failed")
    retry = f"{TICKETS}/{ref}/sms-replies/{message_id}/retry"

    del twilio.refuse[ADA]  # the customer texted START
    answered = await desk.post(retry, headers=as_(agent["token"]))

    assert answered.status_code == 202, answered.text
    assert answered.json()["status"] == "queued"
    await delivered_as(desk, ref, message_id, "accepted")
    assert [m["Body"] for m in twilio.messages()] == ["Your refund is through"]
    assert_problem(await desk.post(retry, headers=as_(agent["token"])), 409, "sms-not-failed")


async def test_status_callbacks_move_the_delivery_forward_only(desk, engine, twilio):
    ref, agent = await conversation(desk, engine)
    message_id = await reply(desk, ref, agent, "On its way")
    await delivered_as(desk, ref, message_id, "accepted")
    [sent] = twilio.messages()

    async def report(status: str, sid: str = sent["sid"], **extra: str) -> None:
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID,
                "From": OURS, "To": ADA, "ApiVersion": "2010-04-01", "SmsSid": sid,
                "SmsStatus": status} | extra
        assert_empty_twiml(await twilio_post(desk, SMS_STATUS_PATH, form))

    await report("sent")
    assert await status_of(desk, ref, message_id) == "sent"
    await report("delivered")
    await report("sent")  # late, out of order
    assert await status_of(desk, ref, message_id) == "delivered"
    await report("delivered", sid="SM" + "9" * 32)  # none of ours: ignored, still 200

    forged = {"MessageSid": sent["sid"], "MessageStatus": "failed"}
    assert_problem(await twilio_post(desk, SMS_STATUS_PATH, forged, token="1" * 32), 403,
                   "bad-twilio-signature")
    assert await status_of(desk, ref, message_id) == "delivered"


async def test_an_undelivered_text_shows_why(desk, engine, twilio):
    ref, agent = await conversation(desk, engine)
    message_id = await reply(desk, ref, agent, "Call us back")
    await delivered_as(desk, ref, message_id, "accepted")
    [sent] = twilio.messages()

    form = {"MessageSid": sent["sid"], "MessageStatus": "undelivered", "ErrorCode": "30003",
            "AccountSid": ACCOUNT_SID}
    assert_empty_twiml(await twilio_post(desk, SMS_STATUS_PATH, form))

    shown = await delivery(desk, ref, message_id)
    assert shown is not None and shown["status"] == "undelivered"
    assert "30003" in shown["error"] and "unreachable handset" in shown["error"]


@pytest.fixture
async def skipping_desk(time_skipping_env: WorkflowEnvironment, engine, task_queue,
                        database_url, twilio, sink) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _desk(time_skipping_env.client, engine, task_queue, database_url,
                            twilio, sink):
        yield http


async def test_while_twilio_is_down_the_reply_is_retried_and_sent_once_after(
        skipping_desk, time_skipping_env, engine, twilio):
    desk = skipping_desk
    ref, agent = await conversation(desk, engine)
    twilio.fail_with, twilio.fail_times = 503, 3

    message_id = await reply(desk, ref, agent, "Sorry for the wait")
    handle = time_skipping_env.client.get_workflow_handle(workflow_id(message_id))
    await eventually(lambda: _started(handle))

    retrying = await delivered_as(desk, ref, message_id, "retrying")
    assert "503" in retrying["error"]
    # Three back-offs (5 s, 10 s, 20 s), skipped by the server instead of waited for.
    await time_skipping_env.sleep(timedelta(minutes=1))
    await delivered_as(desk, ref, message_id, "accepted")
    assert [r.status for r in twilio.requests] == [503, 503, 503, 201]
    assert [m["Body"] for m in twilio.messages()] == ["Sorry for the wait"]
    shown = await delivery(desk, ref, message_id)
    assert shown is not None and shown["status"] == "accepted" and shown["attempts"] == 4


async def _started(handle: Any) -> bool:
    try:
        await handle.describe()
    except Exception:
        return False
    return True
