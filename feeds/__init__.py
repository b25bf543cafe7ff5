"""Consumers of the event feed (db/event_feed.py): work that follows a ticket's changes
without sitting on its write path (webhooks, agent notifications). They run in the worker
process beside the Temporal worker (feeds/runner.py)."""
