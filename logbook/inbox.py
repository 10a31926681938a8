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


def remind_deadlines(db, today, now, enterprise_id=None):
    """Add "deadline approaching" messages for rectifications due within DEADLINE_NOTICE_DAYS (one firm, or all)."""
    due = (today + timedelta(days=DEADLINE_NOTICE_DAYS)).isoformat()
    sql = """INSERT OR IGNORE INTO notifications (enterprise_id, inspection_id, kind, created_at)
        SELECT enterprise_id, id, 'deadline', ? FROM inspections WHERE status = 'closed' AND result = 'rectify'
        AND rectify_by >= ? AND rectify_by <= ?"""
    params = [now_text(now), today.isoformat(), due]
    if enterprise_id is not None:
        sql += " AND enterprise_id = ?"
        params.append(enterprise_id)
    db.execute(sql, params)


def inbox(db, enterprise_id, today, now, limit=100):
    """The firm's messages, newest first, each with its inspection's enterprise-facing facts."""
    remind_deadlines(db, today, now, enterprise_id)
    return rows(db, """SELECT n.id, n.kind, n.created_at, n.read_at, n.inspection_id,
        i.result, i.rectify_by, i.kind AS inspection_kind,
        (SELECT group_concat(a.name, '、') FROM inspection_agencies ia JOIN agencies a ON a.id = ia.agency_id
         WHERE ia.inspection_id = n.inspection_id) AS agencies
        FROM notifications n LEFT JOIN inspections i ON i.id = n.inspection_id
        WHERE n.enterprise_id = ? ORDER BY n.created_at DESC, n.id DESC LIMIT ?""", [enterprise_id, limit])


def unread_count(db, enterprise_id):
    """How many inbox messages the firm has not read."""
    return value(db, "SELECT count(*) FROM notifications WHERE enterprise_id = ? AND read_at IS NULL", [enterprise_id])


def mark_read(db, enterprise_id, now):
    """Mark every message of the enterprise read."""
    db.execute("UPDATE notifications SET read_at = ? WHERE enterprise_id = ? AND read_at IS NULL",
               [now_text(now), enterprise_id])


def unmailed(db):
    """Messages not yet mailed, with the recipients' addresses (firm users of the enterprise with an email)."""
    return rows(db, """SELECT n.id, n.kind, n.inspection_id, n.enterprise_id, e.name AS enterprise,
        (SELECT group_concat(u.email, ',') FROM users u WHERE u.enterprise_id = n.enterprise_id AND u.role = 'firm'
         AND u.active = 1 AND u.email IS NOT NULL AND u.email != '') AS recipients
        FROM notifications n JOIN enterprises e ON e.id = n.enterprise_id WHERE n.mailed_at IS NULL ORDER BY n.id""")


def mark_mailed(db, notification_id, now):
    """Record that a message went out by mail."""
    db.execute("UPDATE notifications SET mailed_at = ? WHERE id = ?", [now_text(now), notification_id])


