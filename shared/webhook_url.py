"""The webhook URL policy (DESIGN.md "Webhook URL policy"), checked when a URL is saved and again on
the address a call actually connects to, so DNS rebinding cannot reach a forbidden address.

Two layers:
- `check_webhook_url` (the `WebhookUrl` model type): what any webhook URL must look like, whatever
  the deployment: http(s), a host, no credentials, at most 2,048 characters.
- `WebhookPolicy`: what this deployment allows: `http://` only to loopback and only when insecure
  webhooks are allowed (the development default), and never link-local (cloud metadata), multicast,
  unspecified, or private ranges unless private webhooks are allowed.

Imports nothing from the platform: models, services and the webhook client all use it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedWebhookError(ValueError):
    """The URL or the address it resolves to is not allowed; the message says why (no secrets)."""


def redact_url(url: str) -> str:
    """The URL as it may appear in errors and logs: no credentials, no query string, no fragment
    (n8n webhook URLs carry no secrets in their path, but operators paste tokens into queries)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    shown = urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))
    return shown[:300]


def check_webhook_url(value: str) -> str:
    """The rules every webhook URL follows, whatever the deployment allows (a pydantic validator)."""
    value = value.strip()
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or c == "\x7f" for c in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  # raises ValueError for a port out of range or not a number
    except ValueError:
        raise ValueError("must be a valid URL") from None
    if parts.scheme.lower() not in ("https", "http"):
        raise ValueError("must be an https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not contain credentials (use the widget secret to authenticate)")
    return value


def literal_address(host: str) -> IPAddress | None:
    """The address if `host` is an IP literal (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class WebhookPolicy:
    """What this deployment lets webhooks reach (settings `ALLOW_INSECURE_WEBHOOKS`,
    `ALLOW_PRIVATE_WEBHOOKS`)."""

    allow_insecure: bool = False
    allow_private: bool = False

    def check_url(self, url: str) -> None:
        """Refuse a URL this deployment never calls; an IP-literal host is checked here too.
        A host name is checked on its resolved addresses (`check_address`) when called."""
        try:
            check_webhook_url(url)
        except ValueError as exc:
            raise BlockedWebhookError(f"the webhook URL {exc}") from None
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        address = literal_address(host)
        if parts.scheme.lower() == "http":
            if not self.allow_insecure:
                raise BlockedWebhookError("the webhook URL must use https://")
            if not _is_loopback_name(host) and (address is None or not address.is_loopback):
                raise BlockedWebhookError("plain http:// is only allowed to this machine (loopback)")
        if address is not None:
            self.check_address(address)

    def check_address(self, address: IPAddress) -> None:
        """Refuse an address a webhook call must never connect to."""
        for embedded in _embedded_ipv4(address):
            self.check_address(embedded)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_unspecified or address in _THIS_NETWORK:
            raise BlockedWebhookError(f"{address} is an unspecified address")
        if address.is_multicast:
            raise BlockedWebhookError(f"{address} is a multicast address")
        if address.is_link_local:
            raise BlockedWebhookError(f"{address} is link-local (cloud metadata lives there)")
        if address.is_loopback:
            if not self.allow_insecure:
                raise BlockedWebhookError(f"{address} is a loopback address")
            return
        if _is_private(address) and not self.allow_private:
            raise BlockedWebhookError(
                f"{address} is a private address (set ALLOW_PRIVATE_WEBHOOKS=1 for n8n inside your network)"
            )
        if address.is_reserved and not self.allow_private:
            raise BlockedWebhookError(f"{address} is a reserved address")


_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # carrier-grade NAT, also used for cloud-internal addresses
        "fc00::/7",
    )
)


_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # Linux connects 0.x.x.x to this machine
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries to its destination (6to4, Teredo, NAT64)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.sixtofour, *(address.teredo or ())) if a is not None]
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _is_private(address: IPAddress) -> bool:
    return any(address.version == n.version and address in n for n in _PRIVATE_NETWORKS)


def _is_loopback_name(host: str) -> bool:
    return host.lower().rstrip(".") in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    )
