"""Loopback sockets for the servers tests start: a free port, and waiting for one to listen."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def until_listening(port: int) -> None:
    """Until something accepts connections on the port (a server started on this loop)."""
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        return
    raise TimeoutError(f"nothing listens on {port}")


def until_process_listens(name: str, port: int, process: subprocess.Popen[bytes], log: Path,
                          seconds: float) -> None:
    """Until a server process accepts connections; if it exits or never does, it is killed
    and the error carries its log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    detail = log.read_text() if log.exists() else ""
    process.kill()
    raise RuntimeError(f"{name} did not start on port {port}:\n{detail}")
