"""A TCP proxy a test puts between the server and its database, to stage outages.

Three states, switched while connections are open:

- ``forward()``: bytes pass both ways (the normal state);
- ``refuse()``: every open connection is reset and new ones are closed at once,
  as when the database host goes down and its port answers with a reset;
- ``hang()``: connections stay open but no byte passes either way and new
  connections are accepted but never forwarded, as when packets stop (a frozen
  host, a network partition). Bytes sent meanwhile wait in the proxy, as they
  would in the network, and flow again on ``forward()`` if both ends still
  have the connection open.

Used as a context manager: ``with TcpProxy(upstream_port=5432) as proxy: ...``;
``proxy.port`` is where clients connect.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

_CHUNK = 65536


class TcpProxy:
    def __init__(self, upstream_host: str = "127.0.0.1", upstream_port: int = 5432) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._state = "forward"
        self._changed = threading.Condition()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._stopped = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._acceptor.start()

    # ---- states ---------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    def forward(self) -> None:
        self._set("forward")

    def hang(self) -> None:
        self._set("hang")

    def refuse(self) -> None:
        self._set("refuse")
        with self._changed:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)

    def _set(self, state: str) -> None:
        with self._changed:
            self._state = state
            self._changed.notify_all()

    def _wait_forwarding(self) -> bool:
        """Block while hung; False once the proxy stops or refuses."""
        with self._changed:
            while self._state == "hang" and not self._stopped.is_set():
                self._changed.wait(0.2)
            return self._state == "forward" and not self._stopped.is_set()

    # ---- plumbing -------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._open, args=(client,), daemon=True).start()

    def _open(self, client: socket.socket) -> None:
        if not self._wait_forwarding():
            _reset(client)
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            return
        server.settimeout(None)
        client.settimeout(None)
        with self._changed:
            self._pairs.append((client, server))
        for source, target in ((client, server), (server, client)):
            threading.Thread(
                target=self._pump, args=(source, target), daemon=True
            ).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                if not self._wait_forwarding():
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._stopped.set()
        self._set("refuse")
        self._listener.close()
        with self._changed:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)
        self._acceptor.join(timeout=2)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN, as a host that went away answers."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
