"""A fault-injecting reverse proxy for tests: in front of an OpenAI-compatible server, it drops a share of the
requests (half as a reset connection, half as 503) and delays the others before forwarding them.

    with FaultProxy("http://127.0.0.1:8080", drop=0.3, max_delay_s=1.0) as proxy:
        ...  # point the client at proxy.url (same path as upstream: proxy.url + "/v1")
    proxy.counts  # {"reset": n, "503": n, "forwarded": n}
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that went away mid-answer is the point of this proxy


class FaultProxy:
    def __init__(self, upstream: str, *, drop: float = 0.3, max_delay_s: float = 1.0, seed: int = 6) -> None:
        target = urlsplit(upstream)
        self.host, self.port = target.hostname or "127.0.0.1", target.port or 80
        self.drop, self.max_delay_s = drop, max_delay_s
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def _fate(self) -> tuple[str, float]:
        with self._lock:
            roll, delay = self.rng.random(), self.rng.random() * self.max_delay_s
            fate = "reset" if roll < self.drop / 2 else "503" if roll < self.drop else "forwarded"
            self.counts[fate] += 1
        return fate, delay

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        fate, delay = self._fate()
        if fate == "reset":  # RST without an answer: the client sees a dropped connection
            req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            req.connection.close()
            req.close_connection = True
            return
        if fate == "503":
            data = b'{"error": {"code": 503, "message": "injected fault", "type": "unavailable_error"}}'
            self._reply(req, 503, [("Content-Type", "application/json")], data)
            return
        time.sleep(delay)
        upstream = http.client.HTTPConnection(self.host, self.port, timeout=900)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
            upstream.request(req.command, req.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self._reply(req, answer.status, [(k, v) for k, v in answer.getheaders()
                                             if k.lower() not in HOP_BY_HOP | {"content-length"}], data)
        finally:
            upstream.close()

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        req.send_response(status)
        for name, value in headers:
            req.send_header(name, value)
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
