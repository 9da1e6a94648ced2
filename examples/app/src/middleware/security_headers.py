"""Adds standard hardening headers to every response."""
from typing import Dict, Optional

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

DEFAULT_SECURITY_HEADERS: Dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeadersMiddleware(BaseHTTPMiddleware):
    """Sets security headers unless the endpoint already chose a value."""

    def __init__(self, app: ASGIApp, headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(app)
        self.security_headers = {**DEFAULT_SECURITY_HEADERS, **(headers or {})}

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in self.security_headers.items():
            response.headers.setdefault(name, value)
        return response
