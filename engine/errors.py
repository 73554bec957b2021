"""Errors a user can cause. Anything else is a bug and is never shown raw to a user.

The CLI turns a :class:`BpmdeskError` into ``error: …`` on stderr and exit 2; the web UI into a
4xx page with the message. Messages are for the person who caused the error: what and why.
"""
from __future__ import annotations


class BpmdeskError(Exception):
    """Base of every error caused by input, permissions or a stale view."""

    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(BpmdeskError):
    http_status = 404


class Forbidden(BpmdeskError):
    """The actor may not do this (not their task, not their group, read-only role)."""

    http_status = 403


class Conflict(BpmdeskError):
    """The thing changed since the user looked at it (stale tab, double submit, race)."""

    http_status = 409


class TooManyAttempts(BpmdeskError):
    """Refused for now: too many failed attempts (sign-in); says when to try again."""

    http_status = 429


class InvalidInput(BpmdeskError):
    """Submitted data is wrong; ``field_errors`` maps a form field id to its message."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field_errors = dict(field_errors or {})


class DeployError(BpmdeskError):
    """A BPMN/DMN file cannot be deployed; each problem reads ``FILE:LINE: what and why``.
    ``warnings``: what the checks found besides, for a lint report that lists both."""

    def __init__(self, problems: list[str], warnings: list[str] | None = None):
        super().__init__("\n".join(problems))
        self.problems = list(problems)
        self.warnings = list(warnings or [])


class ProcessError(BpmdeskError):
    """The diagram itself failed while running (a script, condition or timer expression).

    The step is rolled back; the message names the element so an analyst can fix the diagram.
    """

    http_status = 422
