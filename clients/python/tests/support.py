"""Test support: a real webhookd process and a local HTTP receiver."""
from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from google.protobuf import text_format

from webhookd import pb

REPO_ROOT = Path(__file__).resolve().parents[3]

ADMIN_TOKEN = "py-admin-token-0123456789"
PUBLISHER_TOKEN = "py-publisher-token-012345"
SUBSCRIBER_TOKEN = "py-alice-token-0123456789"
SUBSCRIBER = "alice"


def webhookd_binary() -> Path:
    """$WEBHOOKD_BINARY (relative to the working directory, else to the
    repository root), default build/server/webhookd in the repository."""
    configured = os.environ.get("WEBHOOKD_BINARY", "")
    if not configured:
        return REPO_ROOT / "build" / "server" / "webhookd"
    path = Path(configured)
    if path.is_absolute() or path.exists():
        return path.resolve()
    return REPO_ROOT / path


def base_config() -> pb.ServerConfig:
    config = pb.ServerConfig(allow_http_targets=True)
    config.tokens.add(token=ADMIN_TOKEN, principal="ops", roles=[pb.Role.ADMIN])
    config.tokens.add(token=PUBLISHER_TOKEN, principal="app", roles=[pb.Role.PUBLISHER])
    config.tokens.add(token=SUBSCRIBER_TOKEN, principal=SUBSCRIBER, roles=[pb.Role.SUBSCRIBER])
    config.delivery.allowed_cidrs.append("127.0.0.1/32")
    # Retries come quickly, so a failing receiver is retried within a test.
    config.delivery.retry_schedule_seconds.extend([0, 1, 1, 2])
    config.delivery.connect_timeout_ms = 2000
    config.delivery.total_timeout_ms = 5000
    config.delivery.shutdown_grace_ms = 1000
    return config


class WebhookdServer:
    """A webhookd process on a free loopback port with a temporary data dir."""

    def __init__(self, config: pb.ServerConfig, extra_flags: Sequence[str] = (),
                 startup_timeout: float = 30.0):
        binary = webhookd_binary()
        if not binary.is_file() or not os.access(binary, os.X_OK):
            raise RuntimeError(
                f"webhookd binary not found at {binary}; build it (scripts/build.sh) "
                "or set WEBHOOKD_BINARY")
        self.dir = Path(tempfile.mkdtemp(prefix="webhookd-py-"))
        self.config_path = self.dir / "webhookd.textproto"
        self.config_path.write_text(text_format.MessageToString(config))
        self.port_file = self.dir / "port"
        self.log_path = self.dir / "webhookd.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(binary), f"--config={self.config_path}",
             "--listen=127.0.0.1:0", f"--data_dir={self.dir / 'data'}",
             f"--port_file={self.port_file}", "--shutdown_grace_seconds=2",
             *extra_flags],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self.port = self._wait_for_port(startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.address = f"127.0.0.1:{self.port}"

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"webhookd exited with {self.process.returncode}:\n"
                                   + self.log())
            try:
                text = self.port_file.read_text().strip()
                if text:
                    return int(text)
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"webhookd did not write {self.port_file} in {timeout} s:\n"
                           + self.log())

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        if os.environ.get("WEBHOOKD_KEEP_LOGS"):
            sys.stderr.write(f"\n--- webhookd log ({self.log_path}) ---\n{self.log()}\n")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: List[Tuple[str, str]]
    body: bytes
    time: float = field(default_factory=time.time)

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class Receiver:
    """An HTTP server on a free loopback port that records every request.

    Replies 200 unless ``reply(path, status)`` set another status for a path.
    """

    def __init__(self):
        self._requests: List[ReceivedRequest] = []
        self._replies: Dict[str, int] = {}
        self._changed = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as curl expects

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = ReceivedRequest(self.command, self.path,
                                          list(self.headers.items()), body)
                status = receiver._replies.get(self.path, 200)
                reply = b"ok" if status < 300 else b"no"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                with receiver._changed:
                    receiver._requests.append(request)
                    receiver._changed.notify_all()

            do_POST = do_PUT = do_PATCH = do_GET = _handle

            def log_message(self, format, *args):  # quiet
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="receiver", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, path: str, status: int) -> None:
        self._replies[path] = status

    def requests(self, path: str) -> List[ReceivedRequest]:
        with self._changed:
            return [r for r in self._requests if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 20.0,
                 where: Callable[[ReceivedRequest], bool] = lambda r: True
                 ) -> List[ReceivedRequest]:
        """Waits until ``count`` requests to ``path`` (matching ``where``)
        arrived; returns them, or raises AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self._requests if r.path == path and where(r)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(found)} of {count} requests to {path} after {timeout} s")
                self._changed.wait(left)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
