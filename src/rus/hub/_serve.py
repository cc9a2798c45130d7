"""Run an ASGI app with uvicorn in a background thread on 127.0.0.1 (tests, benchmarks, CLI)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rus.hub.errors import HubError


@contextmanager
def serve_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:<port>``).

    ``port=0`` binds a free port chosen by the system.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="off", timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise HubError(f"the server on {host}:{actual} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{actual}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for child processes that bind it themselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_process(
    home: str, *, extra_args: tuple[str, ...] = (), timeout: float = 60.0
) -> Iterator[tuple[str, int]]:
    """Run ``rus hub serve`` for ``RUS_HOME=home`` in a child process on 127.0.0.1.

    Yields ``(base_url, pid)``; the child is terminated when the block ends. Used by the
    benchmarks so that the server does not share the client's interpreter (GIL).
    """
    import os
    import subprocess
    import sys

    import httpx

    port = free_port()
    env = {**os.environ, "RUS_HOME": str(home)}
    cmd = [sys.executable, "-m", "rus.cli", "hub", "serve", "--port", str(port), *extra_args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise HubError(f"rus hub serve exited early: {err[-500:]}")
            try:
                if httpx.get(f"{url}/", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise HubError(f"rus hub serve did not answer on {url}")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
