"""What the rules object to, in the reader's language: logbook.rules.Problem codes mapped to catalogue strings."""

from flask_babel import lazy_gettext as _l

from logbook.rules import Problem

TEXTS = {
    "future_start": _l("The start time is in the future."),
    "too_late": _l("A late entry may go back at most 10 days."),
    "unknown_agency": _l("Unknown agency: %(names)s."),
    "own_agency": _l("Your own agency must take part."),
    "unknown_inspector": _l("Not an active inspector: %(names)s."),
    "outsider": _l("Not of a participating agency: %(names)s."),
    "too_few_inspectors": _l("At least %(needed)s inspectors with a valid certificate must take part; %(count)s do."),
    "no_items": _l("Choose at least one item of the inspection list (清单之外无检查)."),
    "item_outside": _l("Not on a participating agency's active list: %(codes)s."),
    "no_reference": _l("This kind of inspection needs a reference (complaint or document number)."),
    "no_recheck_target": _l("A recheck must name the inspection it rechecks."),
    "bad_recheck_target": _l("No earlier inspection of this enterprise ended in rectification with that number."),
    "no_late_reason": _l("A late entry needs a reason."),
    "bad_result": _l("Choose a result."),
    "no_findings": _l("Findings are required unless no issue was found."),
    "no_deadline": _l("A rectification deadline is required."),
    "past_deadline": _l("The rectification deadline cannot be in the past."),
    "void_not_open": _l("Only an open inspection can be voided."),
    "void_too_late": _l("An inspection can be voided only within 30 minutes of being recorded."),
}


def problem_text(problem):
    """The translated text of a rules.Problem; any other message is shown as it is."""
    if isinstance(problem, Problem) and problem.code in TEXTS:
        return TEXTS[problem.code] % problem.params
    return str(problem)
