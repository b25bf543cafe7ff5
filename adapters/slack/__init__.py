"""Slack: the Events API in (a channel of the desk) and the Web API out (thread replies,
agents' direct messages)."""
