"""Exceptions raised by openmed; each carries the Go error message.

The status codes mirror ``openmed_status`` in ``bindings/openmed.h``.
"""

OK = 0
BAD_INPUT = 1
NOT_FOUND = 2
INTERNAL = 3
CANCELLED = 4
NOT_AVAILABLE = 5


class OpenMedError(RuntimeError):
    """An error reported by libopenmed (or the binding itself).

    ``status`` is the C ABI status code and ``str(err)`` the Go message.
    """

    status = INTERNAL

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class BadInputError(OpenMedError, ValueError):
    """A bad argument, malformed JSON, or an invalid option (OPENMED_BAD_INPUT)."""

    status = BAD_INPUT


class NotFoundError(OpenMedError, LookupError):
    """A missing file or an unknown / closed handle (OPENMED_NOT_FOUND)."""

    status = NOT_FOUND


class CancelledError(OpenMedError):
    """The job was cancelled (Ctrl-C, the callback, or cancel()) (OPENMED_CANCELLED)."""

    status = CANCELLED


class NotAvailableError(OpenMedError, NotImplementedError):
    """The feature is not available in this build yet (OPENMED_NOT_AVAILABLE)."""

    status = NOT_AVAILABLE


_BY_STATUS = {
    BAD_INPUT: BadInputError,
    NOT_FOUND: NotFoundError,
    CANCELLED: CancelledError,
    NOT_AVAILABLE: NotAvailableError,
}


def error_for(status, message):
    """Return the exception for a nonzero status and its Go message."""
    cls = _BY_STATUS.get(status, OpenMedError)
    return cls(message, status)
