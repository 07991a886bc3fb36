"""API keys and roles.

Keys arrive as ``Authorization: Bearer <key>``; a client key may instead arrive as the ``key``
query parameter, for what a browser sends without headers (``navigator.sendBeacon``): a key in
a URL ends up in access logs, so an operator key is never taken from one. Role ``client`` may ask for decisions and post
rewards; ``operator`` may also read and change experiments, train, activate and read reports.
Only SHA-256 digests of the configured keys are kept in memory, and a presented key is compared
with every digest in constant time. A key is named in logs and the audit log by its key id (a
prefix of its digest), never by the key itself. With no keys configured the service is open
(every caller is an operator), which ``mvt serve`` allows only on a loopback address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mvt_service.errors import ServiceError

ROLES = ("client", "operator")
PRINCIPAL = "mvt.principal"
"""Where a request's identified caller is kept in its ASGI scope."""
OPEN = "open"


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key id (``open`` when no keys are configured) and a role."""

    key_id: str
    role: str


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def key_id(key: str) -> str:
    """A stable, non-secret name for a key."""
    return f"key-{_digest(key).hex()[:10]}"


class KeyRing:
    """The configured keys, as digests with their roles."""

    def __init__(self, client_keys: Iterable[str] = (), operator_keys: Iterable[str] = ()) -> None:
        self._keys = [(_digest(k), key_id(k), "client") for k in client_keys]
        self._keys += [(_digest(k), key_id(k), "operator") for k in operator_keys]

    @classmethod
    def from_settings(cls, client_keys: str | None, operator_keys: str | None) -> KeyRing:
        """Keys from comma-separated lists (``MVT_CLIENT_KEYS``, ``MVT_OPERATOR_KEYS``)."""
        return cls(_split(client_keys), _split(operator_keys))

    @property
    def open(self) -> bool:
        return not self._keys

    def identify(self, key: str) -> Principal | None:
        """The principal holding ``key``, or None. Every digest is compared, so the time taken
        does not depend on which key, if any, matches."""
        presented = _digest(key)
        found = None
        for digest, name, role in self._keys:
            if hmac.compare_digest(presented, digest) and found is None:
                found = Principal(name, role)
        return found


def _split(keys: str | None) -> list[str]:
    return [k.strip() for k in (keys or "").split(",") if k.strip()]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def principal(request: Request, role: str) -> Principal:
    """The caller of ``request`` if it holds at least ``role``.

    Raises
    ------
    Unauthorized
        No key, or an unknown one (401).
    Forbidden
        A valid key whose role is too low (403).
    """
    found: Principal | None = request.scope.get(PRINCIPAL)
    if found is None:
        found = _identify(request)
        request.scope[PRINCIPAL] = found  # the route and its dependency check the key once
    if ROLES.index(found.role) < ROLES.index(role):
        raise Forbidden(f"this needs the `{role}` role; the key has `{found.role}`")
    return found


def _identify(request: Request) -> Principal:
    keys: KeyRing = request.app.state.keys
    if keys.open:
        return Principal(OPEN, "operator")
    header = request.headers.get("authorization")
    if header is None and "key" in request.query_params:
        found = keys.identify(request.query_params["key"])
        if found is None or found.role != "client":
            raise Unauthorized("the `key` query parameter is not a valid client key (operator keys: header only)")
        return found
    scheme, _, key = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("an API key is required: send `Authorization: Bearer <key>`")
    found = keys.identify(key.strip())
    if found is None:
        raise Unauthorized("the API key is not valid")
    return found


async def require_client(request: Request) -> Principal:
    return principal(request, "client")


async def require_operator(request: Request) -> Principal:
    return principal(request, "operator")


ClientDep = Annotated[Principal, Depends(require_client)]
OperatorDep = Annotated[Principal, Depends(require_operator)]
