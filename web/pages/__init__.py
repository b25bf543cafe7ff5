"""The workspace's pages, one module per area: routers of `PageRoute`s under /app."""
