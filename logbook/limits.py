"""The stored limit rules (限查规则): add, list, and load them as rules.LimitRule values."""

from . import rules, usci
from .db import now_text, rows, value
from .errors import Problem, RuleError


def add_rule(db, max_count, agency=None, risk=None, industry=None, usci_code=None, window="year"):
    """Add a limit rule and return its id; at most one of risk, industry and usci_code narrows the target."""
    if max_count is None or max_count < 0:
        raise RuleError(Problem("bad_max", "max must be 0 or more"))
    targets = [(t, v) for t, v in (("risk", risk), ("industry", industry), ("enterprise", usci_code)) if v]
    if len(targets) > 1:
        raise RuleError(Problem("one_target", "name at most one of --risk, --industry and --usci"))
    target, target_value = targets[0] if targets else ("all", None)
    if target == "risk":
        target_value = target_value.strip().upper()
        if target_value not in rules.RISK_LEVELS:
            raise RuleError(Problem("bad_risk", "risk level must be A, B, C or D"))
    if target == "enterprise":
        try:
            target_value = usci.validate(target_value)
        except usci.InvalidUSCI as e:
            raise RuleError(Problem("bad_usci", "usci: {problem}", problem=e.problem)) from None
    try:
        rules.parse_window(window)
    except ValueError:
        raise RuleError(Problem("bad_window", "window must be 'year' or 'days:N' with N from 1 to {most}",
                                most=rules.MAX_WINDOW_DAYS)) from None
    agency_id = None
    if agency:
        agency_id = value(db, "SELECT id FROM agencies WHERE code = ?", [agency.strip().upper()])
        if agency_id is None:
            raise RuleError(Problem("no_such_agency", "unknown agency {agency}", agency=agency))
    cursor = db.execute(
        "INSERT INTO limit_rules (max, agency_id, target, target_value, window, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [max_count, agency_id, target, target_value, window, now_text()])
    return cursor.lastrowid


def active_rules(db):
    """Every active limit rule as a rules.LimitRule; one stored before windows were bounded, whose window no clock
    can count (days:99999999), is left out rather than failing every scan."""
    found = rows(db, """SELECT l.id, l.max, a.code AS agency, l.target, l.target_value, l.window
                        FROM limit_rules l LEFT JOIN agencies a ON a.id = l.agency_id WHERE l.active = 1 ORDER BY l.id""")
    return [rules.LimitRule(id=r["id"], max=r["max"], agency=r["agency"], target=r["target"],
                            value=r["target_value"], window=r["window"]) for r in found if _countable(r["window"])]


def _countable(window):
    try:
        rules.parse_window(window)
    except ValueError:
        return False
    return True


def deactivate_rule(db, rule_id):
    """Stop applying a rule (kept for the record); return True if an active rule was deactivated."""
    return db.execute("UPDATE limit_rules SET active = 0 WHERE id = ? AND active = 1", [rule_id]).rowcount == 1
