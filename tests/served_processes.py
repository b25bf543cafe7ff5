"""Talking to one chosen process of several that share a listening port.

The kernel hands each new connection to whichever process accepts it first. A test that
must know which process answered opens connections, asks psutil which child holds each one,
and keeps those it wants: then it can send one request through process A and another through
process B, deterministically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from http.client import HTTPConnection, HTTPResponse
from typing import Any

import psutil

SETTLE_SECONDS = 2.0


def serving_children(parent: psutil.Process, count: int,
                     within: float = 60) -> list[psutil.Process]:
    """The `count` processes uvicorn spawned to serve for `parent` (not its resource
    tracker, which multiprocessing also starts)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        children = [c for c in parent.children() if "spawn_main" in " ".join(c.cmdline())]
        if len(children) >= count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"{parent.pid} did not start {count} serving processes")


def holder(connection: HTTPConnection, children: list[psutil.Process]) -> psutil.Process:
    """The child that accepted this connection."""
    assert connection.sock is not None
    local_port = connection.sock.getsockname()[1]
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        for child in children:
            for held in child.net_connections(kind="tcp"):
                if held.raddr and held.raddr.port == local_port:
                    return child
        time.sleep(0.01)
    raise AssertionError(f"no serving process accepted the connection from port {local_port}")


def connections_to_each(port: int, children: list[psutil.Process], per_child: int,
                        within: float = 30) -> list[list[HTTPConnection]]:
    """`per_child` open connections held by each child, in the order of `children`."""
    held: dict[int, list[HTTPConnection]] = {child.pid: [] for child in children}
    deadline = time.monotonic() + within
    while any(len(conns) < per_child for conns in held.values()):
        assert time.monotonic() < deadline, {pid: len(c) for pid, c in held.items()}
        connection = HTTPConnection("127.0.0.1", port, timeout=30)
        connection.connect()
        mine = held[holder(connection, children).pid]
        if len(mine) < per_child:
            mine.append(connection)
        else:
            connection.close()
    return [held[child.pid] for child in children]


def request(connection: HTTPConnection, method: str, path: str, token: str,
            body: dict[str, Any] | None = None, **headers: str) -> tuple[int, Any]:
    sent = {"Authorization": f"Bearer {token}", **headers}
    if body is not None:
        sent["Content-Type"] = "application/json"
    connection.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers=sent)
    response = connection.getresponse()
    text = response.read().decode()
    is_json = response.getheader("Content-Type", "").endswith("json")
    return response.status, json.loads(text) if is_json else text


def events(response: HTTPResponse) -> Iterator[dict[str, Any]]:
    """The data of each server-sent event on an open stream, as it arrives."""
    data = ""
    while line := response.readline():
        text = line.decode().rstrip("\r\n")
        if text.startswith("data:"):
            data += text.removeprefix("data:").strip()
        elif not text and data:
            yield json.loads(data)
            data = ""
