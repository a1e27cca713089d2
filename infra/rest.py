"""A small REST client base: timeouts on every call, retries with backoff, readable errors.

Shared by the ksqlDB and Kafka Connect clients. Expected failures raise `ServerError`, whose
message names the method, URL, HTTP status and the server's own message; secrets never appear.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from core.errors import ServerError

RETRY_STATUSES = frozenset({409, 500, 502, 503, 504})


class UncertainOutcome(ServerError):
    """A request that must not run twice got no answer: it may or may not have taken effect."""


def _never_sent(exc: requests.RequestException) -> bool:
    """True if the request surely never reached the server: the connection was refused or
    timed out while being made (requests wraps urllib3's MaxRetryError, whose `reason` is the
    transport error; a connection dropped after sending is a ProtocolError there)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        cause = exc.args[0] if exc.args else None
        reason = getattr(cause, "reason", cause)
        return isinstance(reason, (urllib3.exceptions.NewConnectionError,
                                   ConnectionRefusedError))
    return False


@dataclass
class RestConfig:
    """How to reach one server. `ca_bundle`/`client_cert` are file paths; auth is (user, pass)."""

    url: str
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    basic_auth: tuple[str, str] | None = None
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def __repr__(self) -> str:  # never the password
        user = f"{self.basic_auth[0]}:***" if self.basic_auth else None
        return (f"RestConfig(url={self.url!r}, user={user!r}, ca_bundle={self.ca_bundle!r}, "
                f"timeout={self.timeout})")

    @property
    def user(self) -> str | None:
        return self.basic_auth[0] if self.basic_auth else None


def server_message(body: Any) -> str:
    """The human part of an error body (Connect and ksqlDB both use `message`)."""
    if isinstance(body, dict):
        for key in ("message", "error_code"):
            if body.get(key):
                return str(body[key])
        return str(body)
    return str(body)[:500]


class RestClient:
    """requests.Session with a base URL, auth/TLS from `RestConfig`, retries and clean errors."""

    #: name shown in error messages ("Kafka Connect", "ksqlDB")
    server_name = "server"

    def __init__(self, config: RestConfig) -> None:
        self.config = config
        self.base_url = config.url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if config.basic_auth:
            self.session.auth = config.basic_auth
        # given with every request: requests lets REQUESTS_CA_BUNDLE override a session's own
        self.verify: str | bool = config.ca_bundle or True
        if config.client_cert:
            self.session.cert = ((config.client_cert, config.client_key)
                                 if config.client_key else config.client_cert)

    def request(self, method: str, path: str, *, json: Any = None,
                ok: tuple[int, ...] = (200, 201, 202, 204), retry: bool = True,
                timeout: float | None = None, idempotent: bool = True) -> requests.Response:
        """Send one request; retry connection errors and 5xx/409 with exponential backoff.

        `idempotent=False` (a request that must not run twice) retries only what surely did
        not reach the server: a refused or timed-out connection, and 503 (not ready). A read
        timeout or a dropped connection then raises `UncertainOutcome` instead."""
        url = self.base_url + path
        attempts = 1 + (self.config.retries if retry else 0)
        retry_statuses = RETRY_STATUSES if idempotent else frozenset({503})
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.config.backoff * 2 ** (attempt - 1))
            try:
                response = self.session.request(method, url, json=json, verify=self.verify,
                                                timeout=timeout or self.config.timeout)
            except requests.exceptions.SSLError as exc:
                raise ServerError(f"{self.server_name} at {url}: TLS error: {exc}",
                                  url=url) from None
            except requests.RequestException as exc:
                if not idempotent and not _never_sent(exc):
                    raise UncertainOutcome(
                        f"{self.server_name} at {self.base_url} did not answer {method} {path} "
                        f"({type(exc).__name__}); the request may have reached it, so it was "
                        "not sent again", url=url) from None
                last = exc
                continue
            if response.status_code in ok:
                return response
            if response.status_code in retry_statuses and attempt + 1 < attempts:
                last = None
                continue
            raise self._error(method, url, response)
        raise ServerError(
            f"{self.server_name} at {self.base_url} could not be reached after {attempts} "
            f"attempt(s) ({method} {path}): {type(last).__name__ if last else 'retries'}: "
            f"{_short(last)}", url=url)

    def _error(self, method: str, url: str, response: requests.Response) -> ServerError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if response.status_code == 401:  # never the password itself
            who = (f"the credentials of user {self.config.user}" if self.config.user
                   else "a request without credentials (set servers.<kind>.basic_auth)")
            return ServerError(
                f"{self.server_name} at {self.base_url} refused {who}: HTTP 401 on {method} "
                f"{url} (wrong user or password?)", status=401, body=body, url=url)
        return ServerError(
            f"{self.server_name} rejected {method} {url}: HTTP {response.status_code}: "
            f"{server_message(body)}", status=response.status_code, body=body, url=url)


def _short(exc: Exception | None) -> str:
    text = str(exc) if exc else "server kept answering with a retryable status"
    return text if len(text) < 300 else text[:300] + "..."
