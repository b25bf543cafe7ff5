"""The satisfaction side of the ticket state machine: the customer's rating of a
resolution, and the mail that asks for it when the ticket is resolved.

A mixin of TicketMachine, like MailRules. The rules themselves are domain/satisfaction.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.errors import NotRateable
from domain.lifecycle import AuthorType, Visibility
from domain.records import SatisfactionRecord, SatisfactionView
from domain.satisfaction import (
    MAX_COMMENT,
    Rating,
    RatingTarget,
    check_rateable,
    rating_audit,
)
from workflows.ticket_host import MachineHost
from workflows.ticket_sla import SYSTEM
from workflows.ticket_types import MessageIn, RatingIn, ResolutionMailIn

if TYPE_CHECKING:
    from domain.records import TicketSnapshot


class SatisfactionRules(MachineHost):
    def check_rating(self, cmd: RatingIn, now: datetime) -> None:
        self.check_live()
        if cmd.rating not in set(Rating):
            raise NotRateable(f"a rating is good or bad, not {cmd.rating!r}")
        if cmd.comment is not None and len(cmd.comment) > MAX_COMMENT:
            raise NotRateable(f"a comment has at most {MAX_COMMENT} characters")
        check_rateable(rating_target(self.ticket), self._rated(cmd), now)

    def apply_rating(self, cmd: RatingIn, now: datetime) -> None:
        t = self.ticket
        resolution = self._rated(cmd)
        assert t.resolved_at is not None  # checked: only a resolved or closed ticket
        t.satisfaction = SatisfactionView(resolution=resolution, rating=cmd.rating,
                                          comment=cmd.comment, rated_at=now)
        self.state.outbox.ratings.append(SatisfactionRecord(
            ticket_id=t.ticket_id, resolution=resolution, rating=cmd.rating,
            comment=cmd.comment, rated_at=now, resolved_at=t.resolved_at, team_id=t.team_id,
            assignee_id=t.assignee_id, priority=t.priority))
        reason, detail = rating_audit(cmd.rating, cmd.comment, resolution)
        self.audit(now, "satisfaction", self.status, self.status, AuthorType.CUSTOMER,
                   cmd.customer_email or t.customer_email, reason, detail=detail)
        self._touch(now)

    def _rated(self, cmd: RatingIn) -> int:
        return cmd.resolution if cmd.resolution is not None else self.ticket.resolution_count

    def ask_for_rating(self, mail: ResolutionMailIn | None, now: datetime) -> None:
        """Just resolved: queue the mail that asks the customer, if the API sent one for
        this very resolution."""
        if mail is None or mail.resolution != self.ticket.resolution_count:
            return
        record = self.apply_message(MessageIn(
            id=mail.id, body=mail.body, visibility=Visibility.PUBLIC.value,
            author_type=AuthorType.SYSTEM.value, author_id=SYSTEM, message_id=mail.message_id,
        ), now)
        if record is not None:
            self.order_mail(record, mail.mail, footer=mail.footer)


def rating_target(t: TicketSnapshot) -> RatingTarget:
    return RatingTarget(public_ref=t.public_ref, status=t.status, resolved_at=t.resolved_at,
                        closed_at=t.closed_at, resolution_count=t.resolution_count,
                        satisfaction=t.satisfaction)
