"""Custom search attributes an operator filters tickets by in the Temporal UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

STATUS = SearchAttributeKey.for_keyword("HelpdeskStatus")
PRIORITY = SearchAttributeKey.for_keyword("HelpdeskPriority")
TEAM = SearchAttributeKey.for_keyword("HelpdeskTeam")
ASSIGNEE = SearchAttributeKey.for_keyword("HelpdeskAssignee")
CUSTOMER_EMAIL = SearchAttributeKey.for_keyword("HelpdeskCustomerEmail")
# True while the ticket's projection cannot be written (`HelpdeskDegraded = true` in the UI);
# unset on healthy tickets.
DEGRADED = SearchAttributeKey.for_bool("HelpdeskDegraded")

ALL: tuple[SearchAttributeKey, ...] = (STATUS, PRIORITY, TEAM, ASSIGNEE, CUSTOMER_EMAIL, DEGRADED)
# name -> Temporal's type name, for `temporal server start-dev --search-attribute` and friends.
CLI_TYPES = {
    key.name: "Bool" if key.indexed_value_type is SearchAttributeIndexedValueType.BOOL
    else "Keyword"
    for key in ALL
}
