"""People and their credentials: users, password checks with throttling, and API bearer tokens.

Passwords are stored as Werkzeug hashes; bearer tokens are random and stored only as their SHA-256.
"""

import hashlib
import secrets
from datetime import timedelta
from functools import lru_cache

from werkzeug.security import check_password_hash, generate_password_hash

from . import usci
from .db import immediate, now_text, row, rows, value
from .errors import AccountError, Problem, TooManyAttempts

ROLES = ("inspector", "firm", "supervisor", "admin", "head")
USER_COLUMNS = """u.id, u.username, u.role, u.name, u.cert_no, u.cert_expires_on, u.enterprise_id, u.active,
  u.agency_id, a.code AS agency"""


USER_CEILING = 10                    # a username refuses every address after this many times LOGIN_ATTEMPTS failures
TRUSTED_DAYS = 90                    # an address a user logged in from stays exempt from that ceiling this long


def prepare_user(username, password, role, name="", agency=None, cert_no=None, cert_expires_on=None, usci_code=None,
                 hash_method="scrypt", email=None):
    """Check a new user's fields and hash the password (slow: call it before any transaction); return the row."""
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError(Problem("bad_username", "a username is 1 to 64 characters without spaces"))
    if role not in ROLES:
        raise AccountError(Problem("bad_role", "role must be one of {roles}", roles=", ".join(ROLES)))
    if not password or len(password) < 8:
        raise AccountError(Problem("short_password", "a password has at least 8 characters"))
    if role in ("inspector", "head") and not agency:
        raise AccountError(Problem("inspector_agency", "an inspector or a head belongs to an agency (--agency CODE)"))
    if role == "firm" and not usci_code:
        raise AccountError(Problem("firm_enterprise", "a firm user acts for one enterprise (--usci USCI)"))
    if bool(cert_no) != bool(cert_expires_on):
        raise AccountError(Problem("cert_pair", "give both the certificate number and its expiry date"))
    email = (email or "").strip() or None
    if email and ("@" not in email or len(email) > 254 or any(c.isspace() for c in email)):
        raise AccountError(Problem("bad_email", "the email address is not valid"))
    return {"username": username, "password_hash": generate_password_hash(password, method=hash_method), "role": role,
            "name": name or username, "agency": agency, "cert_no": cert_no, "cert_expires_on": cert_expires_on,
            "usci": usci_code, "email": email}


def insert_user(db, user):
    """Insert a prepared user (inside the caller's transaction, or its own); return the id."""
    with immediate(db):
        if value(db, "SELECT 1 FROM users WHERE username = ?", [user["username"]]):
            raise AccountError(Problem("username_taken", "username {username} is taken", username=user["username"]))
        agency_id = enterprise_id = None
        if user["agency"]:
            agency_id = value(db, "SELECT id FROM agencies WHERE code = ?", [user["agency"]])
            if agency_id is None:
                raise AccountError(Problem("no_such_agency", "unknown agency {agency}", agency=user["agency"]))
        if user["role"] == "firm":
            enterprise_id = value(db, "SELECT id FROM enterprises WHERE usci = ?", [usci.normalise(user["usci"])])
            if enterprise_id is None:
                raise AccountError(Problem("unknown_enterprise", "no enterprise with USCI {usci}", usci=user["usci"]))
        cursor = db.execute(
            """INSERT INTO users (username, password_hash, role, name, agency_id, cert_no, cert_expires_on,
               enterprise_id, email, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [user["username"], user["password_hash"], user["role"], user["name"], agency_id, user["cert_no"],
             user["cert_expires_on"], enterprise_id, user["email"], now_text()])
    return cursor.lastrowid


def add_user(db, username, password, role, **fields):
    """Create a user and return its id; inspectors need an agency, firm users an enterprise."""
    return insert_user(db, prepare_user(username, password, role, **fields))


def user_by_id(db, user_id):
    """The active user with this id, or None."""
    return row(db, f"SELECT {USER_COLUMNS} FROM users u LEFT JOIN agencies a ON a.id = u.agency_id "
                   "WHERE u.id = ? AND u.active = 1", [user_id])


def user_by_username(db, username):
    """The active user with this username, or None."""
    return row(db, f"SELECT {USER_COLUMNS} FROM users u LEFT JOIN agencies a ON a.id = u.agency_id "
                   "WHERE u.username = ? AND u.active = 1", [username])


@lru_cache(maxsize=8)
def _decoy_hash(method):
    """A hash to check unknown usernames against, so they take as long as known ones (no timing leak)."""
    return generate_password_hash(secrets.token_hex(16), method=method)


def throttled(db, username, address, now, attempts=10, window_minutes=15):
    """True when logins for this username from this address must wait (SPEC §5: only after `attempts` failures).

    Failures count per username and address, so an attacker elsewhere cannot lock the real user out; a username
    also refuses every address it has never logged in from after USER_CEILING times as many failures.
    """
    address = address or ""
    since = now_text(now - timedelta(minutes=window_minutes))
    counts = row(db, """SELECT count(*) AS total, coalesce(sum(address = ?), 0) AS here FROM login_failures
                        WHERE username = ? AND failed_at > ?""", [address, username, since])
    if counts["here"] >= attempts:
        return True
    if counts["total"] < attempts * USER_CEILING:
        return False
    return not value(db, "SELECT 1 FROM trusted_addresses WHERE username = ? AND address = ? AND last_at > ?",
                     [username, address, now_text(now - timedelta(days=TRUSTED_DAYS))])


def authenticate(db, username, password, now, address=None, attempts=10, window_minutes=15, hash_method="scrypt"):
    """The user for these credentials, or None; raises TooManyAttempts while throttled.

    The password check (scrypt: over 100 ms) runs outside any transaction: only the short writes that record
    the outcome take the write lock, so logins never hold up scans.
    """
    username, address = (username or "").strip()[:64], address or ""
    if throttled(db, username, address, now, attempts, window_minutes):
        raise TooManyAttempts(Problem("login_throttled", "too many failed logins for this user; try again later"))
    stored = row(db, "SELECT id, password_hash FROM users WHERE username = ? AND active = 1", [username])
    matches = check_password_hash(stored["password_hash"] if stored else _decoy_hash(hash_method), password or "")
    at = now_text(now)
    with immediate(db):
        if stored and matches:
            db.execute("""INSERT INTO trusted_addresses (username, address, last_at) VALUES (?, ?, ?)
                          ON CONFLICT (username, address) DO UPDATE SET last_at = excluded.last_at""",
                       [username, address, at])
        else:
            db.execute("INSERT INTO login_failures (username, address, failed_at) VALUES (?, ?, ?)",
                       [username, address, at])
            db.execute("DELETE FROM login_failures WHERE failed_at < ?",  # expired ones: the table stays small
                       [now_text(now - timedelta(minutes=window_minutes))])
    return user_by_id(db, stored["id"]) if stored and matches else None


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db, user_id, now, hours=12):
    """Issue a bearer token for the user; return (token, expires_at). Only its hash is stored."""
    token = secrets.token_urlsafe(32)
    expires_at = now_text(now + timedelta(hours=hours))
    with immediate(db):
        db.execute("DELETE FROM api_tokens WHERE expires_at <= ?", [now_text(now)])
        db.execute("INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
                   [user_id, _digest(token), now_text(now), expires_at])
    return token, expires_at


# the secrets that stand for a user, stored only as hashes: (table, hash column)
SECRETS = {"token": ("api_tokens", "token_hash"), "session": ("sessions", "session_hash")}


def _user_for_secret(db, kind, secret, now):
    """The active user a live bearer token or session id belongs to, or None."""
    if not secret or not isinstance(secret, str):
        return None
    table, column = SECRETS[kind]
    return row(db, f"""SELECT {USER_COLUMNS} FROM {table} t JOIN users u ON u.id = t.user_id
                       LEFT JOIN agencies a ON a.id = u.agency_id
                       WHERE t.{column} = ? AND t.expires_at > ? AND u.active = 1""", [_digest(secret), now_text(now)])


def user_for_token(db, token, now):
    """The active user a bearer token belongs to, or None when it is unknown, revoked or expired."""
    return _user_for_secret(db, "token", token, now)


def revoke_token(db, token):
    """End a bearer token: from now on it answers 401."""
    db.execute("DELETE FROM api_tokens WHERE token_hash = ?", [_digest(token or "")])


def open_session(db, user_id, now, hours=12):
    """Start a server-side login session; return its random id (the cookie carries it, the database its hash)."""
    session_id = secrets.token_urlsafe(32)
    with immediate(db):
        db.execute("DELETE FROM sessions WHERE expires_at <= ?", [now_text(now)])
        db.execute("INSERT INTO sessions (session_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                   [_digest(session_id), user_id, now_text(now), now_text(now + timedelta(hours=hours))])
    return session_id


def user_for_session(db, session_id, now):
    """The active user of a live session, or None once it has ended (logged out) or expired."""
    return _user_for_secret(db, "session", session_id, now)


def end_session(db, session_id):
    """Log out on the server: the session's cookie no longer opens anything."""
    db.execute("DELETE FROM sessions WHERE session_hash = ?", [_digest(session_id or "")])


def colleagues(db, user, limit=6):
    """Inspectors of the user's own agency for the start form: those the user worked with lately first, then by name."""
    partners = [r["id"] for r in rows(db, """SELECT other.user_id AS id FROM (SELECT inspection_id
          FROM inspection_inspectors WHERE user_id = ? ORDER BY inspection_id DESC LIMIT 100) mine
        JOIN inspection_inspectors other ON other.inspection_id = mine.inspection_id AND other.user_id != ?
        GROUP BY other.user_id ORDER BY max(other.inspection_id) DESC LIMIT 50""", [user["id"], user["id"]])]
    recent = {u["id"]: u for u in _inspectors(db, "u.id IN ({})".format(",".join("?" * len(partners))), partners)
              if u["agency_id"] == user["agency_id"]} if partners else {}
    chosen = [recent[i] for i in partners if i in recent][:limit]
    if len(chosen) < limit and user["agency_id"] is not None:
        skip = {user["id"]} | {u["id"] for u in chosen}
        chosen += [u for u in _inspectors(db, "u.agency_id = ? ORDER BY u.name LIMIT ?",
                                          [user["agency_id"], limit + len(skip)]) if u["id"] not in skip]
    return chosen[:limit]


def find_inspectors(db, text, exclude_id=None, limit=20):
    """Active inspectors of any agency whose name, certificate number or username starts with the text."""
    text = (text or "").strip()
    if not text:
        return []
    low, high = text, text + "\U0010ffff"  # a prefix as an index range: LIKE 'x%' would not use the index
    found = _inspectors(db, """u.id IN (
          SELECT id FROM (SELECT id FROM users WHERE role = 'inspector' AND name >= ? AND name < ? ORDER BY name LIMIT ?)
          UNION SELECT id FROM (SELECT id FROM users WHERE role = 'inspector' AND cert_no >= ? AND cert_no < ?
                                ORDER BY cert_no LIMIT ?)
          UNION SELECT id FROM (SELECT id FROM users WHERE username >= ? AND username < ? ORDER BY username LIMIT ?))
        ORDER BY u.name, u.username""", [low, high, limit + 1] * 3)
    return [u for u in found if u["id"] != exclude_id][:limit]


def inspectors_named(db, usernames):
    """The active inspectors with these usernames (unknown ones are left out), in the order given."""
    usernames = list(dict.fromkeys(usernames))[:100]
    found = {u["username"]: u for u in _inspectors(db, "u.username IN ({})".format(",".join("?" * len(usernames))),
                                                   usernames)} if usernames else {}
    return [found[n] for n in usernames if n in found]


def _inspectors(db, condition, params):
    return rows(db, f"""SELECT {USER_COLUMNS}, a.name AS agency_name FROM users u JOIN agencies a ON a.id = u.agency_id
                        WHERE u.role = 'inspector' AND u.active = 1 AND {condition}""", params)


def users(db, text=None, before=None, limit=50):
    """A page of users for the operator, newest first (ids below `before`), optionally those whose username or
    name starts with the text; with their agency code and enterprise name."""
    text = (text or "").strip()
    matching = """AND u.id IN (SELECT id FROM users WHERE username >= :low AND username < :high
                               UNION SELECT id FROM users WHERE name >= :low AND name < :high)""" if text else ""
    # a key, not an offset: the thousandth page costs what the first does
    return rows(db, f"""SELECT u.id, u.username, u.role, u.name, u.cert_no, u.cert_expires_on, u.email, u.active,
                              a.code AS agency, e.name AS enterprise
                       FROM users u LEFT JOIN agencies a ON a.id = u.agency_id
                       LEFT JOIN enterprises e ON e.id = u.enterprise_id WHERE u.id < :before {matching}
                       ORDER BY u.id DESC LIMIT :limit""",
                {"before": min(before or 2**63 - 1, 2**63 - 1), "low": text, "high": text + "\U0010ffff", "limit": limit})
