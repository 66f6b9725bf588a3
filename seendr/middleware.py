"""Security headers on every response: Content-Security-Policy and friends.

Django's SecurityMiddleware already sends ``X-Content-Type-Options``, ``Referrer-Policy``,
``Cross-Origin-Opener-Policy`` and (in production) HSTS; XFrameOptionsMiddleware sends
``X-Frame-Options: DENY``. This adds what Django 5.2 does not:

* ``Content-Security-Policy``: no inline script or style anywhere, no plugins, nothing framed,
  forms post only to us, and the chat socket only to our own host::

      default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;
      media-src 'self' blob:; connect-src 'self' ws://HOST wss://HOST; font-src 'self';
      object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'

  ``CSP_EXTRA`` (settings, a dict directive -> extra sources) widens one directive without code
  changes (e.g. a CDN for avatars). ``CSP_REPORT_ONLY`` sends the policy as report-only.
* ``Permissions-Policy``: the camera and microphone for our own pages only; no geolocation,
  payment, USB and friends.
* ``Cross-Origin-Resource-Policy: same-origin``.

A response that already carries a CSP (a view that knows better) is left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

BASE_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

PERMISSIONS_POLICY = (
    "camera=(self), microphone=(self), display-capture=(), geolocation=(), payment=(), usb=(), "
    "serial=(), bluetooth=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=()"
)


def content_security_policy(request: HttpRequest) -> str:
    policy = {name: list(sources) for name, sources in BASE_POLICY.items()}
    try:
        host = request.get_host()
    except DisallowedHost:
        host = ""
    if host:
        # 'self' covers ws(s) of the same host in CSP3 browsers; older ones need it spelt out.
        policy["connect-src"] += [f"ws://{host}", f"wss://{host}"]
    for name, extra in getattr(settings, "CSP_EXTRA", {}).items():
        policy.setdefault(name, []).extend(extra)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


def _add_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    header = (
        "Content-Security-Policy-Report-Only"
        if getattr(settings, "CSP_REPORT_ONLY", False)
        else "Content-Security-Policy"
    )
    if "Content-Security-Policy" not in response and "Content-Security-Policy-Report-Only" not in response:
        response[header] = content_security_policy(request)
    response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    return response


@sync_and_async_middleware
def security_headers(get_response: Callable) -> Callable:
    """Works natively in both stacks, so Daphne's async path pays no thread hop for it."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            return _add_headers(request, await get_response(request))

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponse:
        return _add_headers(request, get_response(request))

    return middleware
