"""Stateless CSRF tokens (HMAC-signed) for the admin API."""
import hashlib
import hmac
import logging
import secrets
import time
from typing import Awaitable, Callable, Optional

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

logger = logging.getLogger(__name__)

CSRF_HEADER_NAME = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "DELETE"})
PROTECTED_PREFIX = "/admin"


class CSRFProtection:
    """Issues and checks tokens of the form ``nonce.timestamp.signature``."""

    def __init__(self, max_age_seconds: int = 3600) -> None:
        self.secret_key = secrets.token_urlsafe(32)
        self.max_age_seconds = max_age_seconds

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret_key.encode(), payload.encode(), hashlib.sha256).hexdigest()

    def generate_token(self, now: Optional[float] = None) -> str:
        """A fresh token, valid for ``max_age_seconds``."""
        issued_at = int(time.time() if now is None else now)
        payload = f"{secrets.token_urlsafe(16)}.{issued_at}"
        return f"{payload}.{self._sign(payload)}"

    def validate_token(self, token: Optional[str], now: Optional[float] = None) -> bool:
        """True if ``token`` was issued by this instance and has not expired."""
        if not token:
            return False
        parts = token.split(".")
        if len(parts) != 3:
            return False
        nonce, issued_at, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"{nonce}.{issued_at}")):
            return False
        try:
            age = (time.time() if now is None else now) - int(issued_at)
        except ValueError:
            return False
        return 0 <= age <= self.max_age_seconds

    @staticmethod
    def requires_protection(method: str, path: str) -> bool:
        """Unsafe methods on ``/admin`` paths need a token."""
        under_admin = path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")
        return under_admin and method.upper() in UNSAFE_METHODS


csrf_protection = CSRFProtection()


async def csrf_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Reject unsafe admin requests without a valid ``X-CSRF-Token`` header."""
    if csrf_protection.requires_protection(request.method, request.url.path):
        if not csrf_protection.validate_token(request.headers.get(CSRF_HEADER_NAME)):
            logger.warning("CSRF check failed for %s %s", request.method, request.url.path)
            return JSONResponse(
                status_code=403,
                content={
                    "error": {
                        "code": "csrf_failed",
                        "message": "Missing or invalid CSRF token",
                        "details": {"header": CSRF_HEADER_NAME},
                    }
                },
            )
    return await call_next(request)
