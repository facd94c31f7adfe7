"""A real server process for tests that need one (concurrency, crash recovery, the browser).

The service runs in its own process (``python -m uvicorn app.main:app``) on a free loopback port,
against the test database of the current backend. Everything is bounded: the server must answer
``/healthz`` within ``SERVER_START_SECONDS``, and it is stopped (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ADMIN_TOKEN, admin_headers
from tests.factories import bearer

REPO_ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"

SERVER_START_SECONDS = 20.0
SERVER_STOP_SECONDS = 10.0
# One HTTP call. The server's own waits are bounded (SQLite busy_timeout and the connection
# pool's timeout are both 30 s), so a request that takes longer than this is itself a finding.
HTTP_TIMEOUT = httpx.Timeout(45.0, connect=5.0)


# --- the server process -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def service_process_env(database_url: str) -> dict[str, str]:
    """The environment of a service process (server or scheduler) for this test database."""
    env = dict(os.environ)
    env.update(
        VOUCHER_DATABASE_URL=database_url,
        VOUCHER_ADMIN_TOKEN=ADMIN_TOKEN,
        VOUCHER_SANDBOX_CLOCK="true",
        VOUCHER_ENVIRONMENT="test",
        VOUCHER_SCHEDULER__ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


class LiveServer:
    """One uvicorn process serving ``app.main:app`` on a free loopback port."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> LiveServer:
        self._log = open(self.log_path, "ab")  # closed in stop() / kill()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                LOOPBACK,
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=REPO_ROOT,
            env=service_process_env(self.database_url),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + SERVER_START_SECONDS
        last_error: object = None
        with httpx.Client(base_url=self.base_url, timeout=1.0) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.process.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                try:
                    response = probe.get("/healthz")
                    if response.status_code == 200:
                        return self
                    last_error = response.status_code
                except httpx.HTTPError as error:
                    last_error = error
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"server not ready within {SERVER_START_SECONDS} s ({last_error!r}):\n" + self.log_tail()
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=SERVER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=SERVER_STOP_SECONDS)
        self._close_log()

    def kill(self) -> None:
        """``kill -9``: no shutdown, no rollback, no flushing, like a power cut of the process."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=SERVER_STOP_SECONDS)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 60) -> str:
        try:
            content = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(content.splitlines()[-lines:])

    def client(self, *, token: str | None = None, timeout=HTTP_TIMEOUT) -> httpx.Client:
        headers = bearer(token) if token else admin_headers()
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
