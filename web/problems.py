"""What the logbook objects to, in the reader's language: logbook.rules.Problem codes mapped to catalogue strings.

Every code raised anywhere in logbook/ (and web/) has an entry here; tests/test_problem_texts.py finds them in the
source. A Problem's parameters are named as in the code (`%(name)s`); one that is itself a Problem (a USCI's
reason inside an import line) is translated too. The CLI and the API keep the Problem's own English text.
"""

from flask_babel import lazy_gettext as _l

from logbook.rules import Problem

TEXTS = {
    # starting, closing and voiding an inspection (rules.py, inspections.py)
    "future_start": _l("The start time is in the future."),
    "too_late": _l("A late entry may go back at most 10 days."),
    "unknown_agency": _l("Unknown agency: %(names)s."),
    "own_agency": _l("Your own agency must take part."),
    "unknown_inspector": _l("Not an active inspector: %(names)s."),
    "outsider": _l("Not of a participating agency: %(names)s."),
    "agency_without_inspector": _l("A participating agency has none of its inspectors here: %(names)s."),
    "too_few_inspectors": _l("At least %(needed)s inspectors with a valid certificate must take part; %(count)s do."),
    "no_items": _l("Choose at least one item of the inspection list (清单之外无检查)."),
    "item_outside": _l("Not on a participating agency's active list: %(codes)s."),
    "no_reference": _l("This kind of inspection needs a reference (complaint or document number)."),
    "no_recheck_target": _l("A recheck must name the inspection it rechecks."),
    "bad_recheck_target": _l("No earlier inspection of this enterprise ended in rectification with that number."),
    "already_rechecked": _l("Inspection %(id)s has already been rechecked."),
    "no_late_reason": _l("A late entry needs a reason."),
    "clean_streak": _l("%(agencies)s found nothing here three times in a row within 12 months: say why another "
                       "inspection is needed."),
    # tasks (rules.py, tasks.py)
    "bad_kind": _l("Choose a kind of inspection."),
    "bad_task_window": _l("The window must end on or after its first day."),
    "window_passed": _l("The window has already passed."),
    "window_too_long": _l("A task's window is at most %(days)s days."),
    "notice_too_late": _l("With notice, the window must open at least %(days)s days from today."),
    "no_reject_reason": _l("Say why the task is rejected."),
    "no_cancel_reason": _l("Say why the task is cancelled."),
    "not_submitted": _l("The task is %(status)s, not waiting for approval."),
    "task_closed": _l("The task is %(status)s."),
    "task_required": _l("A %(kind)s inspection needs a task approved by your agency's head for this enterprise, "
                        "covering today."),
    "task_not_startable": _l("Task %(id)s is %(status)s, or not for this enterprise and day."),
    "task_taken": _l("Task %(id)s was started already."),
    "not_the_tasks_kind": _l("Task %(id)s is a %(kind)s inspection."),
    # checkpoints (checkpoints.py)
    "bad_checkpoint_header": _l("The header must be %(expected)s."),
    "item_changes": _l("Item %(item)s has another agency or name on line %(first)s."),
    "no_checkpoints": _l("The file has no checkpoints."),
    "empty_field": _l("%(column)s is empty."),
    "long_field": _l("%(column)s is longer than %(most)s characters."),
    "over_risk_share": _l("At most %(most)s of the %(total)s enterprises of risk level %(level)s in one draw."),
    "day_outside_window": _l("Propose a day from %(start)s to %(end)s."),
    "no_proposal": _l("There is no proposed day to answer."),
    "same_agency_tasks": _l("Tasks of the same agency are not joined."),
    "other_enterprise_tasks": _l("The tasks are for different enterprises."),
    "tasks_not_approved": _l("Only approved tasks are joined."),
    "windows_apart": _l("The tasks' windows do not overlap."),
    "already_joined": _l("Task %(id)s is already joined with another agency's task."),
    "not_matchable": _l("These tasks cannot be joined into one visit."),
    # random draws (draws.py)
    "bad_count": _l("Draw from 1 to %(most)s enterprises."),
    "bad_seed": _l("A seed is 1 to %(most)s printable characters."),
    "no_candidates": _l("No enterprise matches (white-listed ones are left out)."),
    "certificate_invalid": _l("Your enforcement certificate is missing or expired on %(day)s."),
    "no_code": _l("Scan the enterprise's code, or give its USCI for manual entry."),
    "unknown_code": _l("No enterprise has this code."),
    "unknown_usci": _l("No enterprise has this USCI."),
    "replaced_code": _l("This code has been replaced; scan the enterprise's current poster."),
    "idempotency_conflict": _l("This Idempotency-Key was already used for another request."),
    "bad_result": _l("Choose a result."),
    "no_findings": _l("Findings are required unless no issue was found."),
    "no_deadline": _l("A rectification deadline is required."),
    "past_deadline": _l("The rectification deadline cannot be in the past."),
    "not_open": _l("This inspection is no longer open."),
    "no_void_reason": _l("Say why the inspection is voided."),
    "void_not_open": _l("Only an open inspection can be voided."),
    "void_confirmed": _l("The enterprise has confirmed this visit, so it cannot be voided."),
    "void_too_late": _l("An inspection can be voided only within 30 minutes of being recorded."),
    # the checklist and its photos (rules.check_problems, checkpoints.py, photos.py); the page marks the checkpoint
    "checks_missing": _l("Answer the %(count)s checkpoints of this inspection."),
    "unknown_checkpoint": _l("This checkpoint is not on the inspection's checklist."),
    "checkpoint_twice": _l("A checkpoint is answered twice."),
    "bad_outcome": _l("Answer each checkpoint with pass, fail or not applicable."),
    "fail_without_note": _l("Say what failed: a failed checkpoint needs a note."),
    "checkpoint_unanswered": _l("%(count)s checkpoints are not answered yet."),
    "fail_but_no_issue": _l("A failed checkpoint rules out the result “No issue found”."),
    "photo_too_large": _l("The photo is too large: at most 10 MB."),
    "unsupported_photo": _l("This file is not a JPEG or PNG photo."),
    "long_note": _l("A checkpoint's note may have at most %(most)s characters."),
    # the firm's statement (陈述申辩) and rectification report (feedback.py)
    "statement_closed": _l("The findings can be answered only after closing, within %(days)s days."),
    "already_stated": _l("The enterprise has already answered these findings: a statement can be made only once."),
    "not_rectifiable": _l("Only an inspection closed with an order to rectify takes a rectification report."),
    "already_reported": _l("The rectification has already been reported."),
    "too_many_photos": _l("Attach at most %(most)s photos."),
    "long_text": _l("At most %(most)s characters."),
    # the supervisor's warnings (alerts.py)
    "no_dismiss_reason": _l("Say why the warning is dismissed."),
    # follow-ups (督办, followups.py)
    "bad_due_on": _l("The deadline is a day from today to a year ahead."),
    "no_followup_source": _l("A follow-up is about one warning or one complaint."),
    "no_such_complaint": _l("No complaint has this number."),
    "followup_state": _l("The follow-up is %(status)s: it is not waiting for this step."),
    # the firm: activation, confirmation, rating, complaints; the supervisor's answer (feedback.py)
    "activation_throttled": _l("Too many wrong activation codes. Please wait 15 minutes."),
    "bad_activation_code": _l("The activation code is wrong, used or expired."),
    "confirm_throttled": _l("Too many wrong codes. Please wait 15 minutes."),
    "not_confirmable": _l("A voided inspection cannot be confirmed."),
    "bad_code": _l("The confirmation code is wrong."),
    "not_closed": _l("You can rate an inspection once it is closed."),
    "already_evaluated": _l("You have already rated this inspection."),
    "bad_category": _l("Choose what the complaint is about."),
    "no_text": _l("Describe what happened."),
    "not_your_inspection": _l("Check the number: no inspection of your enterprise has this id."),
    "bad_status": _l("Choose a status."),
    "no_answer": _l("Write an answer the enterprise will read."),
    # users (accounts.py)
    "bad_username": _l("A username is 1 to 64 characters without spaces."),
    "bad_role": _l("The role must be one of %(roles)s."),
    "short_password": _l("A password has at least 8 characters."),
    "inspector_agency": _l("Choose an agency: an inspector or a head belongs to an agency."),
    "firm_enterprise": _l("A firm user acts for one enterprise: give its USCI."),
    "cert_pair": _l("Give both the certificate number and its expiry date."),
    "bad_email": _l("The email address is not valid."),
    "username_taken": _l("The username %(username)s is taken."),
    "no_such_agency": _l("Unknown agency %(agency)s."),
    "unknown_enterprise": _l("No enterprise has the USCI %(usci)s."),
    "login_throttled": _l("Too many failed logins for this user. Please try again later."),
    # agencies and their item lists (agencies.py)
    "agency_fields": _l("An agency needs a code and a name."),
    "item_fields": _l("An item needs a code and a name."),
    "item_taken": _l("Item code %(item)s already belongs to another agency."),
    # limit rules (limits.py, the admin's rule form)
    "bad_max": _l("The maximum must be 0 or more."),
    "one_target": _l("Name at most one of risk level, industry and USCI."),
    "bad_risk": _l("The risk level must be A, B, C or D."),
    "bad_usci": _l("USCI: %(problem)s"),
    "bad_window": _l("The window must be year, or days:N with N from 1 to %(most)s."),
    "no_target_value": _l("Name the risk level, industry or USCI."),
    # a USCI (usci.py); these also sit inside other messages, so they are fragments like the CLI's
    "usci_length": _l("a USCI has 18 characters, this one has %(length)s"),
    "usci_characters": _l("a USCI cannot contain %(characters)s (I, O, S, V and Z are never used)"),
    "usci_check": _l("the check character should be %(expected)s, not %(found)s: a character is mistyped"),
    # the CSV import (enterprises.py): "line N: reason", as the CLI prints it
    "import_line": _l("line %(line)s: %(reason)s"),
    "bad_header": _l("%(reasons)s (expected %(expected)s)"),
    "and_then": _l("%(first)s; %(then)s"),
    "missing_column": _l("missing column %(column)s"),
    "unknown_column": _l("unknown column %(column)s"),
    "too_many_fields": _l("more fields than the header has"),
    "bad_record_usci": _l("usci %(value)s: %(problem)s"),
    "no_name": _l("name is empty"),
    "long_name": _l("name is longer than 200 characters"),
    "bad_record_risk": _l("risk_level must be A, B, C or D, not %(value)s"),
    "not_a_number": _l("%(column)s must be a number, not %(value)s"),
    "out_of_range": _l("%(column)s must be between %(low)s and %(high)s"),
    "lat_without_lon": _l("give both lat and lon, or neither"),
    "bad_district": _l("district must be a 6-digit division code, not %(value)s"),
    "duplicate_usci": _l("usci %(usci)s already on line %(first)s"),
    "no_enterprises": _l("the file has no enterprises"),
    # what an error class says when it is raised without a problem of its own (errors.py)
    "not_found": _l("Not found."),
    "not_voidable": _l("The inspection can no longer be voided."),
    "too_many_attempts": _l("Too many attempts. Please wait a few minutes and try again."),
    "account_error": _l("The user cannot be created or changed as asked."),
    "directory_error": _l("The agency or item cannot be added as asked."),
    "rule_error": _l("The limit rule cannot be added as asked."),
}


def problem_text(problem):
    """The translated text of a rules.Problem (and of any Problem among its parameters); other messages as they are."""
    if not (isinstance(problem, Problem) and problem.code in TEXTS):
        return str(problem)
    params = {name: problem_text(value) if isinstance(value, Problem) else value for name, value in problem.params.items()}
    try:
        return str(TEXTS[problem.code]) % params
    except (KeyError, TypeError, ValueError):  # raised without a parameter its text names: English beats a crash
        return str(problem)
