"""The firm's inbox: a message when an inspection starts or closes and when a rectification deadline nears.

The inbox needs nothing but the database; mail (optional) is sent later from the same rows.
"""

from datetime import timedelta

from .db import now_text, rows, value

DEADLINE_NOTICE_DAYS = 3             # remind the firm this many days before a rectification deadline


def notify(db, enterprise_id, inspection_id, kind, at):
    """Put a message in the firm's inbox (once per inspection and kind) at a stored timestamp `at`; the caller
    holds the transaction."""
    db.execute("INSERT OR IGNORE INTO notifications (enterprise_id, inspection_id, kind, created_at) VALUES (?, ?, ?, ?)",
               [enterprise_id, inspection_id, kind, at])


def notify_notice(db, task_id, at):
    """Put the notice of an approved task with notice on in its firm's inbox; the caller holds the transaction."""
    db.execute("""INSERT INTO notifications (enterprise_id, task_id, kind, created_at)
                  SELECT enterprise_id, id, 'notice', ? FROM tasks WHERE id = ? AND notice = 1""", [at, task_id])


# rectifications due within the notice period, by (enterprise_id, id): of every firm (the rectify_by index), or of
# one firm (its inspections by the enterprise index; "? IS NULL OR enterprise_id = ?" would read the whole table)
DUE = """SELECT enterprise_id, id FROM inspections WHERE status = 'closed' AND result = 'rectify'
         AND rectify_by >= ? AND rectify_by <= ?"""
DUE_OF_FIRM = DUE + " AND enterprise_id = ?"


def _due(today, enterprise_id):
    """The due-rectifications query and its parameters, for one firm or for all."""
    bounds = [today.isoformat(), (today + timedelta(days=DEADLINE_NOTICE_DAYS)).isoformat()]
    return (DUE, bounds) if enterprise_id is None else (DUE_OF_FIRM, bounds + [enterprise_id])


def remind_deadlines(db, today, now, enterprise_id=None):
    """Add "deadline approaching" messages for rectifications due within DEADLINE_NOTICE_DAYS (one firm, or all)."""
    due, params = _due(today, enterprise_id)
    db.execute(f"""INSERT OR IGNORE INTO notifications (enterprise_id, inspection_id, kind, created_at)
                   SELECT enterprise_id, id, 'deadline', ? FROM ({due})""", [now_text(now)] + params)


def inbox(db, enterprise_id, today, now, limit=100):
    """The firm's messages, newest first, each with its inspection's enterprise-facing facts."""
    remind_deadlines(db, today, now, enterprise_id)
    return rows(db, """SELECT n.id, n.kind, n.created_at, n.read_at, n.inspection_id, n.task_id,
        i.result, i.rectify_by, i.kind AS inspection_kind, t.window_start, t.window_end,
        coalesce((SELECT group_concat(a.name, '、') FROM inspection_agencies ia JOIN agencies a ON a.id = ia.agency_id
         WHERE ia.inspection_id = n.inspection_id), (SELECT name FROM agencies WHERE id = t.agency_id)) AS agencies
        FROM notifications n LEFT JOIN inspections i ON i.id = n.inspection_id LEFT JOIN tasks t ON t.id = n.task_id
        WHERE n.enterprise_id = ? ORDER BY n.created_at DESC, n.id DESC LIMIT ?""", [enterprise_id, limit])


def unread_count(db, enterprise_id, today):
    """How many inbox messages the firm has not read, counting deadline reminders not written yet; reads only,
    so showing the count on every page never takes the write lock the scans need."""
    due, params = _due(today, enterprise_id)
    return value(db, f"""SELECT (SELECT count(*) FROM notifications WHERE enterprise_id = ? AND read_at IS NULL)
        + (SELECT count(*) FROM ({due}) d WHERE NOT EXISTS (SELECT 1 FROM notifications n
           WHERE n.enterprise_id = d.enterprise_id AND n.inspection_id = d.id AND n.kind = 'deadline'))""",
                 [enterprise_id] + params)


def mark_read(db, enterprise_id, now):
    """Mark every message of the enterprise read."""
    db.execute("UPDATE notifications SET read_at = ? WHERE enterprise_id = ? AND read_at IS NULL",
               [now_text(now), enterprise_id])


def unmailed(db):
    """Messages not yet mailed, with the recipients' addresses (firm users of the enterprise with an email)."""
    return rows(db, """SELECT n.id, n.kind, n.inspection_id, n.task_id, n.enterprise_id, e.name AS enterprise,
        (SELECT group_concat(u.email, ',') FROM users u WHERE u.enterprise_id = n.enterprise_id AND u.role = 'firm'
         AND u.active = 1 AND u.email IS NOT NULL AND u.email != '') AS recipients
        FROM notifications n JOIN enterprises e ON e.id = n.enterprise_id WHERE n.mailed_at IS NULL ORDER BY n.id""")


def mark_mailed(db, notification_id, now):
    """Record that a message went out by mail."""
    db.execute("UPDATE notifications SET mailed_at = ? WHERE id = ?", [now_text(now), notification_id])


