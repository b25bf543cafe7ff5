"""A TCP proxy in front of PostgreSQL that a test can cut or freeze, never touching the server.

The machine's PostgreSQL is shared: stopping or SIGSTOPping it would break every other test
running. Pointing the app at this proxy instead gives the same failures to the app alone:

- `cut()`: the port refuses connections and every open one is dropped (a stopped server);
- `freeze()`: connections are accepted but no byte goes either way (a SIGSTOPped server);
- `restore()`: back to forwarding, held bytes included.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65_536


class PostgresProxy:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        parts = urlsplit(database_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """`database_url` with the proxy's address in place of the server's."""
        parts = urlsplit(self.database_url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._flowing.set()

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._drop_all()

    def freeze(self) -> None:
        self._flowing.clear()

    async def restore(self) -> None:
        if self._server is None:
            await self.start()
        self._flowing.set()

    async def stop(self) -> None:
        await self.cut()

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
                     ) -> None:
        self._writers.add(client_w)
        try:
            await self._flowing.wait()  # frozen: accepted, and then nothing
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        self._writers.add(server_w)
        await asyncio.gather(self._pipe(client_r, server_w), self._pipe(server_r, client_w),
                             return_exceptions=True)
        for writer in (client_w, server_w):
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()
