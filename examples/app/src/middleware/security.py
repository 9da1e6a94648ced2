"""Per-client rate limiting and request bookkeeping."""
import logging
import time
from collections import defaultdict, deque
from typing import Awaitable, Callable, Deque, Dict, Optional

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from ..utils.config import Config
from .audit_logger import audit_logger

logger = logging.getLogger(__name__)


class SecurityManager:
    """Sliding-window rate limiter keyed by client IP."""

    def __init__(
        self,
        config: Optional[Config] = None,
        requests_per_minute: Optional[int] = None,
        window_seconds: float = 60.0,
    ) -> None:
        self.config = config or Config.from_env()
        self.requests_per_minute = requests_per_minute or self.config.rate_limit_per_minute
        self.window_seconds = window_seconds
        self.allowed_origins = list(self.config.cors_origins)
        self.blocked_requests = 0
        self._requests: Dict[str, Deque[float]] = defaultdict(deque)
        audit_logger.log_event(
            "security_manager_started",
            details={
                "message": "security manager started",
                "requests_per_minute": self.requests_per_minute,
            },
        )
        logger.info("security manager started (%s req/min)", self.requests_per_minute)

    @staticmethod
    def get_client_ip(request: Request) -> str:
        """Best guess at the caller's address, honouring Vercel's proxy headers."""
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
        real_ip = request.headers.get("x-real-ip")
        if real_ip:
            return real_ip.strip()
        if request.client is not None:
            return request.client.host
        return "unknown"

    def _prune(self, client_ip: str, now: float) -> Deque[float]:
        window = self._requests[client_ip]
        while window and now - window[0] >= self.window_seconds:
            window.popleft()
        return window

    def is_rate_limited(self, client_ip: str, now: Optional[float] = None) -> bool:
        """Count one request from ``client_ip``; True if it exceeds the limit."""
        now = time.monotonic() if now is None else now
        window = self._prune(client_ip, now)
        if len(window) >= self.requests_per_minute:
            self.blocked_requests += 1
            return True
        window.append(now)
        return False

    def remaining(self, client_ip: str, now: Optional[float] = None) -> int:
        """Requests ``client_ip`` may still make in the current window."""
        now = time.monotonic() if now is None else now
        return max(0, self.requests_per_minute - len(self._prune(client_ip, now)))

    def is_origin_allowed(self, origin: Optional[str]) -> bool:
        """True if ``origin`` is one of the configured CORS origins."""
        return origin is not None and origin in self.allowed_origins

    def reset(self, client_ip: Optional[str] = None) -> None:
        """Forget request history for one client, or for everybody."""
        if client_ip is None:
            self._requests.clear()
        else:
            self._requests.pop(client_ip, None)


security_manager = SecurityManager()


async def security_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Reject clients over their rate limit; tag responses with timing info."""
    started = time.perf_counter()
    client_ip = security_manager.get_client_ip(request)
    if security_manager.is_rate_limited(client_ip):
        audit_logger.log_event("rate_limited", client_ip=client_ip, path=request.url.path)
        return JSONResponse(
            status_code=429,
            content={"error": {"code": "rate_limited", "message": "Too many requests", "details": {}}},
            headers={"Retry-After": str(int(security_manager.window_seconds))},
        )
    response = await call_next(request)
    response.headers["X-Process-Time"] = f"{(time.perf_counter() - started) * 1000:.2f}ms"
    response.headers["X-RateLimit-Remaining"] = str(security_manager.remaining(client_ip))
    return response
