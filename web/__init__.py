"""The agent workspace: server-rendered pages under /app (Jinja2 templates, htmx, the live
streams). Pages call the same use cases as the JSON API (services/); no business rule lives
in a template or in JavaScript."""
