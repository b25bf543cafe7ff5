"""The use cases: one function per thing a person or a channel does with the help desk.

The JSON API (`api/`) and the web pages (`web/`) both call these, so neither holds a rule the
other lacks. They take a `Desk` (the session, engine, Temporal client, settings and limits
of one request) and the caller's `Principal`, and raise `Problem` for what the caller is owed
an explanation of; each front end renders that its own way (problem+json, a page).
"""
