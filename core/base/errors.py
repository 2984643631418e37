"""Domain errors. Each carries a sentence a person can act on."""


class DomainError(Exception):
    """Base for errors a user can hit; str(err) is the message to show."""


class ValidationError(DomainError):
    """Input is wrong: unknown ids, times out of range, missing fields."""


class NotFound(ValidationError):
    pass


class OutOfScope(NotFound):
    """Something outside the actor's locations, answered exactly as if it did not exist (so ids
    reveal nothing); `denial` is still recorded, as for PermissionDenied."""

    def __init__(self, message: str, denial: dict | None = None):
        super().__init__(message)
        self.denial = denial


class ConflictError(DomainError):
    """The slot is taken: another appointment, a room, or a busy block."""


class PermissionDenied(DomainError):
    """`denial` holds what to write to the audit log once the guarded transaction is gone."""

    def __init__(self, message: str, denial: dict | None = None):
        super().__init__(message)
        self.denial = denial


class InvalidTransition(DomainError):
    """The appointment's status does not allow this action."""


class DatabaseUnavailable(DomainError):
    pass
