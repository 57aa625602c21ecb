"""Send a webhook over HTTP (``urllib3``) and sign it (``standardwebhooks``).

Redirects are not followed (a receiver could point one inward), nothing is
retried here (the delivery worker decides), no proxy is used, and the answer's
body is never read: only its status counts. Timeouts bound the connection and
the whole request. urllib3's pooled keep-alive connections cost several times
less CPU per request than httpx's, which matters when the worker shares a
process with the commands (``docs/decisions.md``, "Webhooks").
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

import urllib3
from standardwebhooks.webhooks import Webhook
from urllib3.exceptions import HTTPError, TimeoutError

from application.ports import Clock
from application.webhooks import Attempt

__all__ = ["HttpSender", "resolve_host", "sign"]

MAX_ERROR = 300


def sign(secret: str, msg_id: str, at: datetime, body: str) -> str:
    """The Standard Webhooks ``v1,<base64>`` signature of one body."""
    return Webhook(secret).sign(msg_id, at, body)


def resolve_host(host: str) -> Sequence[str]:
    """Every address ``host`` resolves to (an address literal: itself)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})


class HttpSender:
    """One pooled, thread-safe client for every attempt of a process."""

    def __init__(self, clock: Clock, *, max_connections: int = 64) -> None:
        self._clock = clock
        self._pool = urllib3.PoolManager(num_pools=64, maxsize=max_connections, block=False,
                                         retries=False)

    def __call__(self, url: str, headers: Mapping[str, str], body: bytes,
                 connect_timeout: float, request_timeout: float) -> Attempt:
        at = self._clock.now()
        started = time.monotonic()
        timeout = urllib3.Timeout(total=request_timeout, connect=connect_timeout)
        try:
            answer = self._pool.request("POST", url, body=body, headers=dict(headers),
                                        timeout=timeout, redirect=False,
                                        preload_content=False)
            status = answer.status
            answer.drain_conn()
            answer.release_conn()
        except TimeoutError as error:
            return Attempt(at=at, latency_ms=_ms(started),
                           error=f"timed out ({type(error).__name__})")
        except HTTPError as error:
            return Attempt(at=at, latency_ms=_ms(started),
                           error=f"{type(error).__name__}: {error}"[:MAX_ERROR])
        return Attempt(at=at, latency_ms=_ms(started), status_code=status)

    def close(self) -> None:
        self._pool.clear()


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
