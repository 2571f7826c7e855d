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


class ValidationErrors(ValidationError):
    """Several fields wrong at once, each with its own words (a form shows them all in one round). Its message
    and field are the first problem's too, for an edge that shows only one."""

    def __init__(self, problems: list[ValidationError]):
        super().__init__("\n".join(p.message for p in problems), problems[0].field)
        self.problems = problems

    @staticmethod
    def raise_any(problems: list[ValidationError]) -> None:
        """Raise the one problem, or all of them; nothing when there is none."""
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise ValidationErrors(problems)


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
