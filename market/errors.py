"""Domain errors raised by services, turned into a form error, flash, JSON error or exit code at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    """Base of every error a service raises on purpose. ``message`` is already translated."""

    http_status = 400
    code = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """Bad input. ``field`` names the offending field (or None for the whole submission)."""

    http_status = 422
    code = "validation_error"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ImportErrors(DomainError):
    """An import refused as a whole; every row error is listed (CONTRACT.md)."""

    errors: list[RowError] = field(default_factory=list)
    http_status = 422
    code = "import_invalid"

    def __post_init__(self) -> None:
        DomainError.__init__(self, "\n".join(str(e) for e in self.errors))


class PermissionDenied(DomainError):
    http_status = 403
    code = "forbidden"


class NotFound(DomainError):
    http_status = 404
    code = "not_found"


class Conflict(DomainError):
    http_status = 409
    code = "conflict"
