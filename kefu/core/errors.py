"""One error type for the whole application, rendered as ``{"error": {"code", "message"}}``."""

from __future__ import annotations


class KefuError(Exception):
    """An expected failure with an HTTP status and a stable machine-readable code. ``values``
    fill the placeholders of the page's translated message (``error.<code>``)."""

    values: dict[str, object] = {}  # noqa: RUF012 - replaced per instance, never mutated

    def __init__(self, message: str, *, code: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class NotFound(KefuError):
    def __init__(self, what: str = "resource", *, code: str | None = None) -> None:
        super().__init__(f"{what} not found", code=code or "not_found", status=404)


class Forbidden(KefuError):
    def __init__(self, message: str = "not allowed", *, code: str = "forbidden") -> None:
        super().__init__(message, code=code, status=403)


class Unauthorized(KefuError):
    def __init__(self, message: str = "authentication required", *, code: str = "unauthorized"):
        super().__init__(message, code=code, status=401)


class Conflict(KefuError):
    def __init__(self, message: str, *, code: str = "conflict") -> None:
        super().__init__(message, code=code, status=409)


class InvalidInput(KefuError):
    def __init__(self, message: str, *, code: str = "invalid_input") -> None:
        super().__init__(message, code=code, status=422)
