"""Errors that services raise. Views and the API turn them into clear responses."""

from __future__ import annotations


class RuleViolation(ValueError):
    """The request breaks a domain rule; nothing was changed.

    ``field`` names the input at fault when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(RuleViolation):
    """Someone else changed the same thing first; nothing was changed."""


class NoAuthority(RuleViolation):
    """The signer's qualifications and authorisations do not cover this sign-off at this
    instant; the message says why. Nothing was signed."""


class NotAllowed(PermissionError):
    """The actor's role does not allow this action."""
