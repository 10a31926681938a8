"""People and their credentials: users, password checks with throttling, and API bearer tokens.

Passwords are stored as Werkzeug hashes; bearer tokens are random and stored only as their SHA-256.
"""

import hashlib
import secrets
from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from . import usci
from .db import now_text, row, rows, value

ROLES = ("inspector", "firm", "supervisor", "admin")
USER_COLUMNS = """u.id, u.username, u.role, u.name, u.cert_no, u.cert_expires_on, u.enterprise_id, u.active,
  u.agency_id, a.code AS agency"""


class AccountError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


class TooManyAttempts(Exception):
    """Login for this username is throttled after too many recent failures."""


def add_user(db, username, password, role, name="", agency=None, cert_no=None, cert_expires_on=None,
             usci_code=None, hash_method="scrypt", email=None):
    """Create a user and return its id; inspectors need an agency, firm users an enterprise."""
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("a username is 1 to 64 characters without spaces")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if not password or len(password) < 8:
        raise AccountError("a password has at least 8 characters")
    if value(db, "SELECT 1 FROM users WHERE username = ?", [username]):
        raise AccountError(f"username {username} is taken")
    agency_id = enterprise_id = None
    if role == "inspector":
        if not agency:
            raise AccountError("an inspector belongs to an agency (--agency CODE)")
    if agency:
        agency_id = value(db, "SELECT id FROM agencies WHERE code = ?", [agency])
        if agency_id is None:
            raise AccountError(f"unknown agency {agency}")
    if role == "firm":
        if not usci_code:
            raise AccountError("a firm user acts for one enterprise (--usci USCI)")
        enterprise_id = value(db, "SELECT id FROM enterprises WHERE usci = ?", [usci.normalise(usci_code)])
        if enterprise_id is None:
            raise AccountError(f"no enterprise with USCI {usci_code}")
    if bool(cert_no) != bool(cert_expires_on):
        raise AccountError("give both the certificate number and its expiry date")
    email = (email or "").strip() or None
    if email and ("@" not in email or len(email) > 254 or any(c.isspace() for c in email)):
        raise AccountError("the email address is not valid")
    cursor = db.execute(
        """INSERT INTO users (username, password_hash, role, name, agency_id, cert_no, cert_expires_on,
           enterprise_id, email, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [username, generate_password_hash(password, method=hash_method), role, name or username, agency_id,
         cert_no, cert_expires_on, enterprise_id, email, now_text()])
    return cursor.lastrowid


def user_by_id(db, user_id):
    """The active user with this id, or None."""
    return row(db, f"SELECT {USER_COLUMNS} FROM users u LEFT JOIN agencies a ON a.id = u.agency_id "
                   "WHERE u.id = ? AND u.active = 1", [user_id])


def user_by_username(db, username):
    """The active user with this username, or None."""
    return row(db, f"SELECT {USER_COLUMNS} FROM users u LEFT JOIN agencies a ON a.id = u.agency_id "
                   "WHERE u.username = ? AND u.active = 1", [username])


def authenticate(db, username, password, now, attempts=10, window_minutes=15):
    """The user for these credentials, or None; raises TooManyAttempts once the username is throttled."""
    username = (username or "").strip()
    since = now_text(now - timedelta(minutes=window_minutes))
    failures = value(db, "SELECT count(*) FROM login_failures WHERE username = ? AND failed_at > ?",
                     [username, since])
    if failures >= attempts:
        raise TooManyAttempts(username)
    stored = row(db, "SELECT id, password_hash FROM users WHERE username = ? AND active = 1", [username])
    if stored and check_password_hash(stored["password_hash"], password or ""):
        return user_by_id(db, stored["id"])
    db.execute("INSERT INTO login_failures (username, failed_at) VALUES (?, ?)", [username[:64], now_text(now)])
    return None


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db, user_id, now, hours=12):
    """Issue a bearer token for the user; return (token, expires_at). Only its hash is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = now_text(now + timedelta(hours=hours))
    db.execute("INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
               [user_id, _digest(token), now_text(now), expires_at])
    return token, expires_at


def user_for_token(db, token, now):
    """The active user a bearer token belongs to, or None when it is unknown or expired."""
    if not token:
        return None
    return row(db, f"""SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
                       LEFT JOIN agencies a ON a.id = u.agency_id
                       WHERE t.token_hash = ? AND t.expires_at > ? AND u.active = 1""",
               [_digest(token), now_text(now)])


def inspectors_of(db, agency_codes):
    """Active inspectors of the given agencies, by agency then name."""
    if not agency_codes:
        return []
    marks = ",".join("?" * len(agency_codes))
    return rows(db, f"""SELECT {USER_COLUMNS} FROM users u JOIN agencies a ON a.id = u.agency_id
                        WHERE u.role = 'inspector' AND u.active = 1 AND a.code IN ({marks})
                        ORDER BY a.code, u.name""", list(agency_codes))


def users(db, limit=500):
    """Users for the operator, newest first, with their agency code and enterprise name."""
    return rows(db, """SELECT u.id, u.username, u.role, u.name, u.cert_no, u.cert_expires_on, u.email, u.active,
                              a.code AS agency, e.name AS enterprise
                       FROM users u LEFT JOIN agencies a ON a.id = u.agency_id
                       LEFT JOIN enterprises e ON e.id = u.enterprise_id ORDER BY u.id DESC LIMIT ?""", [limit])
