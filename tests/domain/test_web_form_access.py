"""The help form's principal opens a ticket as the customer it names, and does nothing else."""

from __future__ import annotations

import pytest

from domain.access import (
    AccessDenied,
    TicketScope,
    require_open_ticket,
    require_post,
    require_staff,
    require_ticket,
    sees_internal,
    web_form_principal,
)

FORM = web_form_principal("Ada@Example.com")
SCOPE = TicketScope(ticket_id="t1", team_id="team", assignee_id=None,
                    customer_email="ada@example.com")


def test_it_opens_a_ticket_as_its_own_customer_only() -> None:
    require_open_ticket(FORM, None, "ada@example.com")
    with pytest.raises(AccessDenied):
        require_open_ticket(FORM, None, "eve@example.com")
    with pytest.raises(AccessDenied):
        require_open_ticket(FORM, None, None)


def test_it_does_not_choose_a_team() -> None:
    with pytest.raises(AccessDenied):
        require_open_ticket(FORM, "team", "ada@example.com")


def test_it_reads_and_posts_nowhere_not_even_on_its_customers_ticket() -> None:
    for rule in (require_ticket, require_post):
        with pytest.raises(AccessDenied):
            rule(FORM, SCOPE)
    with pytest.raises(AccessDenied):
        require_staff(FORM)
    assert not FORM.is_staff and not FORM.is_admin and not sees_internal(FORM)
