"""The public help form (/help) in a real browser, against the whole desk: live answers while
the customer types, deflection counted, one ticket per drawn form, the spam defences, the
confirmation, and framing by the site's allowed origins only."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.async_api import FilePayload, Page, expect
from temporalio.testing import WorkflowEnvironment

from domain.form_keys import mint_key
from services.signing_keys import signing_secret
from settings import Settings
from tests.api.helpers import eventually
from tests.desk_server import ServerThread
from tests.mail_sink import MailSink, listening
from tests.sockets import free_port
from tests.support import ADMIN_TOKEN, fresh_database

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "help_form.png"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MIN_FILL_SECONDS = 1.0
PER_SENDER = 3
ARTICLES = [
    ("Where is my parcel?", "Track your parcel from the link in your shipping email.\n\n"
     "A parcel that shows no movement for five days can be <script>reported</script> to us."),
    ("Returning an item", "Send a parcel back for free within 30 days of delivery."),
    ("Changing your delivery address", "Before dispatch you can change the delivery address "
     "of an order for your parcel."),
    ("Resetting your password", "Use the link on the sign-in page."),
]


@dataclass(frozen=True)
class HelpDesk:
    url: str
    database_url: str
    settings: Settings
    mail: MailSink

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=ADMIN, timeout=30)

    def tickets_of(self, email: str) -> list[tuple[str, str]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute("SELECT public_ref, channel FROM tickets WHERE customer_email "
                                "= %s", (email,)).fetchall()

    def key_drawn(self, seconds_ago: float) -> str:
        """A form key this desk would have drawn that long ago (the test shares its secret),
        so a test waits for nobody's minimum fill time."""
        secret = signing_secret(self.settings, "help form").encode()
        return mint_key(secret, datetime.now(UTC) - timedelta(seconds=seconds_ago)).key


@pytest.fixture(scope="module")
def desk(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
         ) -> Iterator[HelpDesk]:
    with fresh_database(pg_server_url, template_db) as url, \
            listening(MailSink(free_port())) as sink:
        settings = Settings(
            DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"tq-help-{uuid.uuid4()}",
            HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
            HELPDESK_HELP_FORM_MIN_FILL_SECONDS=str(MIN_FILL_SECONDS),
            HELPDESK_RATE_LIMIT_PER_SENDER=f"{PER_SENDER}/hour",
            HELPDESK_MAIL_ACKNOWLEDGE="true", HELPDESK_MAIL_FROM="help@desk.example",
            HELPDESK_SMTP_OUT_HOST="127.0.0.1", HELPDESK_SMTP_OUT_PORT=str(sink.port),
            HELPDESK_SMTP_OUT_SECURITY="none")
        client = dev_env.client
        server = ServerThread(settings, client.service_client.config.target_host,
                              client.namespace)
        with server.running():
            found = HelpDesk(url=server.url, database_url=url, settings=settings, mail=sink)
            with found.api() as api:
                for title, body in ARTICLES:
                    api.post("/api/v1/admin/kb/articles", json={
                        "title": title, "body": body, "published": True}).raise_for_status()
                api.post("/api/v1/admin/kb/articles", json={
                    "title": "Parcel draft (unpublished)", "body": "parcel parcel parcel",
                    "published": False}).raise_for_status()
            yield found


def kb_report(desk: HelpDesk) -> dict[str, Any]:
    with desk.api() as api:
        return api.get("/api/v1/reports/kb").raise_for_status().json()


async def type_draft(page: Page, *, name: str, email: str, subject: str,
                     description: str) -> None:
    """As a customer types: key by key, so the live answers come after a pause."""
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Subject").press_sequentially(subject, delay=15)
    await page.get_by_label("Description").press_sequentially(description, delay=5)


async def test_answers_appear_while_typing_and_reading_one_then_leaving_is_a_deflection(
        desk: HelpDesk, page: Page) -> None:
    before = kb_report(desk)
    await page.goto(f"{desk.url}/help")
    answers = page.get_by_role("region", name="Suggested answers")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/help/suggest")
            else None)
    await type_draft(page, name="Ada", email="ada@example.com", subject="My parcel is lost",
                     description="The parcel never came")
    await expect(answers.get_by_role("link")).to_have_count(3)
    # Asked once the typing paused, not at each of its 38 keys.
    assert 1 <= len(asked) <= 3, asked
    await expect(answers.get_by_role("link").first).to_have_text("Where is my parcel?")
    # Above the submit button, and never an unpublished draft.
    box, button = await answers.bounding_box(), await page.get_by_role(
        "button", name="Send").bounding_box()
    assert box and button and box["y"] < button["y"]
    await expect(answers).not_to_contain_text("unpublished")
    await page.get_by_label("Subject").press_sequentially(" and not tracked", delay=15)
    await expect(answers.get_by_role("link").first).to_have_text("Where is my parcel?")

    async with page.context.expect_page() as opened:
        await answers.get_by_role("link", name="Where is my parcel?").click()
    article = await opened.value
    await expect(article.get_by_role("heading", name="Where is my parcel?")).to_be_visible()
    # The body is text: the <script> in it is shown, not run.
    await expect(article.locator("article")).to_contain_text("<script>reported</script>")
    await article.close()
    await page.goto("about:blank")  # the customer leaves without sending

    after = kb_report(desk)
    # One drawn form is one suggestion, however many pauses its typing had.
    assert after["shown"] == before["shown"] + 1
    assert after["deflected"] == before["deflected"] + 1
    assert after["submitted"] == before["submitted"]
    assert after["read"] == before["read"] + 1
    read = {a["title"]: a["read"] for a in after["articles"]}
    assert read["Where is my parcel?"] >= 1


async def test_a_double_clicked_form_opens_one_ticket_and_confirms_its_ref(
        desk: HelpDesk, page: Page, tmp_path: Path) -> None:
    before = kb_report(desk)
    email = "grace@example.com"
    await page.goto(f"{desk.url}/help")
    await type_draft(page, name="Grace Hopper", email=email, subject="Parcel arrived broken",
                     description="The parcel was crushed; the vase inside is in pieces.")
    photo: FilePayload = {"name": "photo.txt", "mimeType": "text/plain", "buffer": b"vase"}
    await page.get_by_label("Attachments").set_input_files(files=[photo])
    await expect(page.get_by_role("region", name="Suggested answers")
                 .get_by_role("link")).to_have_count(3)
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Chromium itself sends a double-clicked form once; a slower browser or a flaky network
    # sends it again, maybe at the same moment: two at once first, then the double click.
    answers = await page.evaluate("""async () => {
        const form = document.getElementById("help-form");
        const send = () => fetch(form.action, {method: "POST", body: new FormData(form),
                                               redirect: "manual"}).then(r => r.type);
        return Promise.all([send(), send()]);
    }""")
    assert answers == ["opaqueredirect", "opaqueredirect"]  # both to a confirmation
    await page.get_by_role("button", name="Send").dblclick()
    # The second click may abort the first click's navigation: wait for where it lands.
    await expect(page).to_have_url(re.compile(r"/help/sent/"))
    await expect(page.locator("#ticket-ref")).to_be_visible()
    ref = (await page.locator("#ticket-ref").text_content() or "").strip()
    await expect(page.get_by_role("heading")).to_contain_text("we have your request")
    await expect(page.get_by_text("An email with this reference")).to_be_visible()
    assert desk.tickets_of(email) == [(ref, "web")]
    with psycopg.connect(desk.database_url) as conn:
        files = conn.execute("SELECT a.filename FROM message_attachments a JOIN tickets t "
                             "ON t.id = a.ticket_id WHERE t.public_ref = %s", (ref,)).fetchall()
    assert files == [("photo.txt",)]

    # Reloading the confirmation asks for it again, never for the form (POST-redirect-GET).
    await page.reload()
    await expect(page.locator("#ticket-ref")).to_have_text(ref)
    assert len(desk.tickets_of(email)) == 1
    after = kb_report(desk)
    assert after["submitted"] == before["submitted"] + 1
    assert after["shown"] == before["shown"] + 1

    async def acknowledged() -> bool:  # the existing acknowledgement, to the customer
        return [parseaddr(str(m["To"]))[1] for m in desk.mail.messages()
                if ref in str(m["Subject"])] == [email]
    await eventually(acknowledged, within=15)


async def test_a_too_fast_form_is_refused_with_what_was_typed_and_opens_no_ticket(
        desk: HelpDesk, page: Page) -> None:
    await page.goto(f"{desk.url}/help")
    await page.get_by_label("Email").fill("quick@example.com")
    await page.get_by_label("Subject").fill("Fast")
    await page.get_by_label("Description").fill("Filled in by a machine")
    # The page's key, as if drawn just now however slowly this machine filled the form:
    # drawn 30 s ahead (the desk allows a minute's clock skew), the minimum is never past.
    await page.locator('input[name="key"]').evaluate("(input, key) => input.value = key",
                                                     desk.key_drawn(-30))
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("alert")).to_contain_text("send it again")
    await expect(page.get_by_label("Description")).to_have_value("Filled in by a machine")
    assert desk.tickets_of("quick@example.com") == []


async def test_a_filled_honeypot_is_thanked_like_anyone_but_opens_no_ticket(
        desk: HelpDesk, page: Page) -> None:
    await page.goto(f"{desk.url}/help")
    honeypot = page.get_by_label("Leave this field empty")
    await expect(honeypot).not_to_be_in_viewport()
    await page.get_by_label("Email").fill("bot@example.com")
    await page.get_by_label("Subject").fill("Cheap watches")
    await page.get_by_label("Description").fill("Buy now")
    await honeypot.fill("https://spam.example", force=True)
    await page.get_by_role("button", name="Send").click()
    await page.wait_for_url(re.compile(r"/help/sent/"))
    await expect(page.locator("#ticket-ref")).to_have_text(re.compile(r"^TKT-\d+$"))
    assert desk.tickets_of("bot@example.com") == []


# ---- the key and the limits, over plain HTTP -------------------------------------------

def post_form(desk: HelpDesk, key: str, email: str, **extra: str) -> httpx.Response:
    data = {"key": key, "name": "Lin", "email": email, "subject": "Refund",
            "description": "Please refund order 77.", "website": "", **extra}
    return httpx.post(f"{desk.url}/help", data=data, timeout=30)


def test_a_key_this_desk_did_not_sign_is_refused_and_opens_no_ticket(desk: HelpDesk) -> None:
    drawn = desk.key_drawn(10)
    forged = drawn[:-3] + ("abc" if not drawn.endswith("abc") else "xyz")
    answer = post_form(desk, forged, "forger@example.com")
    assert answer.status_code == 400 and "send the form again" in answer.text.lower()
    assert 'name="key" value="' in answer.text and forged not in answer.text  # a fresh key
    assert desk.tickets_of("forger@example.com") == []


def test_one_key_sent_twice_is_one_ticket_and_the_same_confirmation(desk: HelpDesk) -> None:
    key = desk.key_drawn(MIN_FILL_SECONDS + 1)
    first, again = (post_form(desk, key, "lin@example.com") for _ in range(2))
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert len(desk.tickets_of("lin@example.com")) == 1
    # A stranger's guess at a confirmation URL shows nothing.
    ref = desk.tickets_of("lin@example.com")[0][0]
    assert httpx.get(f"{desk.url}/help/sent/{ref}.bogus").status_code == 404


def test_the_form_page_draws_a_key_that_is_too_fresh_to_send(desk: HelpDesk) -> None:
    page = httpx.get(f"{desk.url}/help")
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key is not None
    answer = post_form(desk, key.group(1), "early@example.com")
    assert answer.status_code == 422 and "Retry-After" in answer.headers
    assert desk.tickets_of("early@example.com") == []


def test_a_sender_over_the_limit_gets_a_readable_429_page(desk: HelpDesk) -> None:
    email = "busy@example.com"
    for _ in range(PER_SENDER):
        assert post_form(desk, desk.key_drawn(5), email).status_code == 303
    refused = post_form(desk, desk.key_drawn(5), email)
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("text/html")
    assert "many requests lately" in refused.text and "Retry-After" in refused.headers
    assert len(desk.tickets_of(email)) == PER_SENDER


def test_answers_for_a_key_this_desk_did_not_draw_are_neither_shown_nor_counted(
        desk: HelpDesk) -> None:
    before = kb_report(desk)
    answer = httpx.post(f"{desk.url}/help/suggest", data={
        "key": "made-up-key.1.x", "subject": "parcel", "description": "parcel lost"})
    assert answer.status_code == 200 and "parcel" not in answer.text.lower()
    assert kb_report(desk)["shown"] == before["shown"]


def test_help_pages_carry_the_security_headers_and_no_frame_without_a_site(
        desk: HelpDesk) -> None:
    for path in ("/help", "/help?site=nosuchsite", "/help/articles/not-an-id"):
        answer = httpx.get(f"{desk.url}{path}")
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{desk.url}/help/articles/{uuid.uuid4()}").status_code == 404


# ---- embedding: a page on an allowed origin frames the form; another origin cannot ------

class _HostPage(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def host_pages(desk: HelpDesk) -> Iterator[tuple[str, str]]:
    """Two shops' pages, each on its own loopback origin, with the desk's script tag."""
    html = (f'<!doctype html><title>Shop</title><h1>Our shop</h1><script src="{desk.url}'
            '/help/embed.js" data-site="shop" async></script>').encode()
    handler = type("Host", (_HostPage,), {"html": html})
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield tuple(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)  # type: ignore[misc]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


async def test_the_form_is_framed_on_the_sites_origin_and_refused_on_another(
        desk: HelpDesk, page: Page, host_pages: tuple[str, str]) -> None:
    allowed, other = host_pages
    with desk.api() as api:
        api.post("/api/v1/admin/sites", json={
            "key": "shop", "name": "Shop", "allowed_origins": [allowed]}).raise_for_status()
    policy = httpx.get(f"{desk.url}/help?site=shop").headers["content-security-policy"]
    assert f"frame-ancestors {allowed};" in policy

    await page.goto(allowed)
    frame = page.frame_locator("iframe.helpdesk-form")
    await expect(frame.get_by_label("Email")).to_be_visible()
    # The frame takes the form's own height (help_form.js -> embed.js), not its first guess.
    await expect(page.locator("iframe.helpdesk-form")).not_to_have_css("height", "720px")
    # Sent from the frame, the confirmation shows in the frame too (it keeps ?site=).
    await frame.get_by_label("Email").fill("framed@example.com")
    await frame.get_by_label("Subject").press_sequentially("Sent from the shop", delay=40)
    await frame.get_by_label("Description").press_sequentially("Framed form", delay=40)
    await frame.get_by_role("button", name="Send").click()
    await expect(frame.locator("#ticket-ref")).to_have_text(re.compile(r"^TKT-\d+$"))
    assert len(desk.tickets_of("framed@example.com")) == 1

    async with page.expect_event("framenavigated",
                                 predicate=lambda f: f.parent_frame is not None) as framed:
        await page.goto(other)
    refused = await framed.value
    assert not refused.url.startswith(desk.url)  # Chromium's error page, not the form
    await expect(page.frame_locator("iframe.helpdesk-form").get_by_label("Email")) \
        .to_have_count(0)
