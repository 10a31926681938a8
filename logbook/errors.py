"""Every refusal the logbook raises, in one place, each named after what went wrong.

A refusal's message is a rules.Problem where a person reads it (a code and parameters the web layer
translates) and plain English otherwise; `fields` maps request fields to their problems.
"""

from .rules import CapReached, Problem, restored  # noqa: F401  (CapReached is decided by the pure rules)


class LogbookError(Exception):
    """A request the logbook refuses; str(error) is the English message, `problem` the translatable one."""

    def __init__(self, problem=None):
        self.problem = problem if problem is not None else Problem(self.code(), self.__doc__.split(";")[0].rstrip("."))
        super().__init__(str(self.problem))

    def __reduce__(self):  # pickled with its fields, whatever its __init__ takes (the writer process answers so)
        return restored, (type(self), self.args, self.__dict__)

    @classmethod
    def code(cls):
        """snake_case of the class name (UnknownCode -> unknown_code)."""
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in cls.__name__).lstrip("_")


class UnknownCode(LogbookError):
    """No enterprise has this QR token or USCI (or the token has been replaced)."""

    def __init__(self, problem=None, replaced=False):
        self.replaced = replaced
        super().__init__(problem or Problem("unknown_code", "no enterprise has this code"))


class NotFound(LogbookError):
    """Nothing with this id is visible to the caller (existence does not leak)."""


class Invalid(LogbookError):
    """The request is malformed; `fields` maps each bad field to a message."""

    def __init__(self, fields):
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))


class CertificateInvalid(LogbookError):
    """The caller's enforcement certificate is missing or expired on the inspection date."""


class NotOpen(LogbookError):
    """The inspection is not open."""

    @classmethod
    def because(cls, status):
        """The refusal for an inspection whose status is `status` (closed or voided)."""
        return cls(Problem("not_open", "the inspection is {status}, not open", status=status))


class NotVoidable(LogbookError):
    """The inspection can no longer be voided; the message says why."""


class BadCode(LogbookError):
    """The confirmation or activation code is wrong, used or expired."""


class TooManyAttempts(LogbookError):
    """Too many failed attempts recently (passwords, confirmation or activation codes); try again later."""


class NotConfirmable(LogbookError):
    """A voided inspection cannot be confirmed."""


class NotClosed(LogbookError):
    """Only a closed inspection can be evaluated."""


class AlreadyEvaluated(LogbookError):
    """The firm has already rated this inspection."""


class StatementClosed(LogbookError):
    """The findings can be answered only after closing and within LOGBOOK_STATEMENT_DAYS."""


class AlreadyStated(LogbookError):
    """The enterprise has already answered this inspection's findings."""


class NotRectifiable(LogbookError):
    """Only an inspection closed with rectify can have a rectification report."""


class AlreadyReported(LogbookError):
    """The rectification has already been reported."""


class PhotoTooLarge(LogbookError):
    """The photo is larger than the logbook accepts (10 MB, 40 megapixels)."""


class UnsupportedPhoto(LogbookError):
    """The file is not a JPEG or PNG image that decodes."""


class FollowupState(LogbookError):
    """The follow-up is not waiting for this step."""


class IdempotencyConflict(LogbookError):
    """The idempotency key was already used for a different request."""


class TaskRequired(LogbookError):
    """An approved task of the caller's agency for this enterprise, covering today, is needed first."""


class NotSubmitted(LogbookError):
    """Only a submitted task can be approved or rejected."""


class TaskClosed(LogbookError):
    """The task is done, rejected, cancelled or expired."""


class NotMatchable(LogbookError):
    """These tasks cannot be joined into one visit; the message says why."""


class AccountError(LogbookError):
    """A user cannot be created or changed as asked; the message says why."""


class DirectoryError(LogbookError):
    """An agency or item cannot be added as asked; the message says why."""


class RuleError(LogbookError):
    """A limit rule cannot be added as asked; the message says why."""


class ImportFailed(LogbookError):
    """A CSV import was refused; `problems` lists every bad line as "line N: reason"."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n".join(problems))
