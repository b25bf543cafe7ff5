"""Custom search attributes an operator filters tickets by in the Temporal UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STATUS = SearchAttributeKey.for_keyword("HelpdeskStatus")
PRIORITY = SearchAttributeKey.for_keyword("HelpdeskPriority")
TEAM = SearchAttributeKey.for_keyword("HelpdeskTeam")
ASSIGNEE = SearchAttributeKey.for_keyword("HelpdeskAssignee")
CUSTOMER_EMAIL = SearchAttributeKey.for_keyword("HelpdeskCustomerEmail")

ALL = (STATUS, PRIORITY, TEAM, ASSIGNEE, CUSTOMER_EMAIL)
# name -> Temporal's type name, for `temporal server start-dev --search-attribute` and friends.
CLI_TYPES = {key.name: "Keyword" for key in ALL}
