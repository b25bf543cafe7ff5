"""Support text for the scale seed: subjects and message bodies from templates over a Zipf
vocabulary of a few thousand words, product names and error codes, so that search terms have
the selectivity they have in a real help desk (a few words everywhere, most words rare)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

PRODUCTS = [
    "NimbusPay", "OrbitRouter", "Lumen Lamp", "PocketScale", "AeroDock", "Helix Watch",
    "Quanta Drive", "Sparrow Phone", "Tundra Tent", "Vortex Blender", "Cobalt Kettle",
    "Zephyr Fan", "Atlas Backpack", "Pixel Frame", "Echo Buds", "Nova Tablet", "Fjord Jacket",
    "Granite Desk", "Ember Heater", "Sonic Toothbrush", "Prism Monitor", "Comet Scooter",
    "Harbor Sofa", "Willow Chair", "Mosaic Rug", "Summit Boots", "Drift Kayak", "Koala Crib",
    "Falcon Drone", "Beacon Doorbell",
]
ERROR_CODES = [f"E{1000 + i}" for i in range(800)]
# Everyday support words, most frequent first; thousands of rarer made-up words follow.
COMMON = """order refund delivery account password invoice payment charge card subscription
shipping package address email login error update app website support help issue problem
return exchange size color price discount code coupon cancel cancellation tracking number
days week yesterday today morning still again please thanks thank hello regards customer
service team reply message phone call chat screen button page settings profile reset link
received missing damaged broken wrong late delayed lost item product box receipt bank
transfer credit debit paypal billing plan upgrade downgrade renewal trial free premium
warranty repair replacement battery charger cable screen speaker sound light power device
install download sync backup data export import file photo upload storage limit quota
notification alert reminder schedule appointment booking reservation confirm confirmation
verify verification security twofactor locked blocked suspended fraud dispute chargeback
tax vat currency euro dollar amount total balance statement overdue reminder fee shipping
courier warehouse stock available unavailable preorder backorder estimate arrival window
manager supervisor escalate urgent asap disappointed happy great quickly slow crash freeze
bug version android iphone windows mac browser chrome firefox safari cookie cache network
wifi bluetooth pairing firmware driver printer scanner keyboard mouse monitor camera""".split()
SYLLABLES = ["ka", "lo", "mi", "ter", "van", "dor", "sel", "ri", "po", "nu", "bra", "cle",
             "fin", "gor", "hal", "jen", "kri", "lun", "mar", "nol", "pex", "quo", "ros",
             "sta", "tiv", "ul", "vex", "wen", "yor", "zan"]
ENGLISH_OPENERS = [
    "Hi, I ordered the {product} last week and it still has not arrived.",
    "Hello, my {product} shows error {code} every time I try to start it.",
    "I was charged twice for my {product} order, please refund the second payment.",
    "The payment failed with code {code} but the money left my account.",
    "Can you help me reset my password? The login page says {code}.",
    "My {product} arrived damaged and I would like a replacement or a refund.",
    "I want to cancel my subscription before the next renewal.",
    "The tracking number for order {order} has not updated for five days.",
    "Where can I download the invoice for order {order}?",
    "The app crashes when I open the {product} settings page.",
]
ENGLISH_REPLIES = [
    "Thanks for reaching out, I am sorry about the trouble with your {product}.",
    "I have issued a refund for order {order}; it should appear within five business days.",
    "Could you send us a photo of the {product} and the packaging?",
    "Error {code} usually means the firmware needs an update; please try the steps below.",
    "I have escalated this to our shipping team and will update you tomorrow.",
    "Your replacement {product} is on its way, the tracking number follows by email.",
    "I reset the verification on your account, please try logging in again.",
    "The payment failed on our side; you have not been charged twice.",
]
ENGLISH_NOTES = [
    "Checked the logs: {code} on the {product} backend, same as last week.",
    "Customer is a repeat contact about order {order}, handle with care.",
    "Refund approved by the billing lead, waiting on the bank transfer.",
]
GERMAN = [
    "Hallo, meine Bestellung {order} ist immer noch nicht angekommen.",
    "Das {product} zeigt den Fehler {code} und startet nicht mehr.",
    "Ich möchte mein Abonnement kündigen und eine Rückerstattung erhalten.",
    "Die Zahlung ist fehlgeschlagen, aber das Geld wurde abgebucht.",
    "Vielen Dank für Ihre schnelle Antwort, die Lieferung kam heute an.",
]
SPANISH = [
    "Hola, mi pedido {order} todavía no ha llegado.",
    "El {product} muestra el error {code} y no enciende.",
    "Quiero cancelar mi suscripción y solicitar un reembolso.",
    "El pago falló pero el dinero salió de mi cuenta bancaria.",
    "Muchas gracias por la ayuda, el paquete llegó hoy.",
]
SUBJECTS = [
    "Order {order} not delivered", "{product} error {code}", "Refund for {product}",
    "Payment failed", "Cannot log in", "Damaged {product}", "Cancel my subscription",
    "Invoice for order {order}", "Question about {product}", "{product} keeps crashing",
]
TAGS = ["vip", "refund", "shipping", "bug", "billing", "login", "hardware", "mobile",
        "chargeback", "feedback", "outage", "enterprise", "b2b", "returns", "fraud"]


@dataclass(frozen=True)
class Message:
    body: str
    config: str


class TextGenerator:
    """Deterministic given its random.Random; everything a seeded row needs to say."""

    def __init__(self, rng: random.Random, vocabulary_size: int = 3000) -> None:
        self.rng = rng
        self.words = COMMON + _made_up_words(vocabulary_size - len(COMMON))
        self.word_weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(self.words))))
        self.code_weights = list(itertools.accumulate(1 / (r + 1) ** 1.1
                                                      for r in range(len(ERROR_CODES))))
        self.product_weights = list(itertools.accumulate(1 / (r + 1) ** 0.7
                                                         for r in range(len(PRODUCTS))))

    def _fill(self, template: str) -> str:
        rng = self.rng
        return template.format(
            product=rng.choices(PRODUCTS, cum_weights=self.product_weights)[0],
            code=rng.choices(ERROR_CODES, cum_weights=self.code_weights)[0],
            order=f"{rng.randrange(10_000_000, 99_999_999)}")

    def _filler(self, low: int, high: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.word_weights,
                                 k=self.rng.randint(low, high))
        return " ".join(words).capitalize() + "."

    def subject(self) -> str:
        return self._fill(self.rng.choice(SUBJECTS))

    def message(self, kind: str) -> Message:
        """kind: customer, agent or note; a few customers write in German or Spanish."""
        rng = self.rng
        roll = rng.random()
        if kind == "customer" and roll < 0.05:
            return Message(" ".join(self._fill(rng.choice(GERMAN)) for _ in range(2)), "german")
        if kind == "customer" and roll < 0.08:
            return Message(" ".join(self._fill(rng.choice(SPANISH)) for _ in range(2)),
                           "spanish")
        templates = {"customer": ENGLISH_OPENERS, "agent": ENGLISH_REPLIES,
                     "note": ENGLISH_NOTES}[kind]
        parts = [self._fill(rng.choice(templates)), self._filler(8, 30)]
        if rng.random() < 0.5:
            parts.append(self._fill(rng.choice(templates)))
        if kind != "note" and rng.random() < 0.4:
            parts.append("\n" + self._filler(5, 20))
        return Message(" ".join(parts), "english")

    def tags(self) -> list[str]:
        return self.rng.sample(TAGS, k=self.rng.choice((0, 0, 1, 1, 1, 2, 3)))

    def article(self) -> tuple[str, str, list[str]]:
        title = self._fill(self.rng.choice((
            "How to fix error {code} on {product}", "Refunds and returns for {product}",
            "Resetting your password", "Tracking a delayed delivery",
            "Updating the {product} firmware", "Cancelling a subscription",
            "Why a payment failed", "Invoices and receipts")))
        body = " ".join([self._fill(self.rng.choice(ENGLISH_REPLIES)) for _ in range(4)]
                        + [self._filler(40, 120) for _ in range(3)])
        return title, body, self.rng.sample(TAGS, k=2)


def _made_up_words(count: int) -> list[str]:
    """Pronounceable, distinct, stable across runs (its own seed)."""
    rng, seen = random.Random(7), set(COMMON)
    words: list[str] = []
    while len(words) < count:
        word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words
