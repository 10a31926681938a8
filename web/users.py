"""The logged-in person as Flask-Login sees them: a thin wrapper over the users row."""

from flask import g, session
from flask_login import UserMixin

from logbook import accounts

from . import database, now


class User(UserMixin):
    """A user row with attribute access; `row` is the dict the logbook functions take."""

    def __init__(self, row):
        self.row = row

    def get_id(self):
        """Flask-Login's session key."""
        return str(self.row["id"])

    def __getattr__(self, name):
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None


def load_user(user_id):
    """Flask-Login's loader: the user of the session, only while it lives on the server (logout ends it)."""
    found = accounts.user_for_session(database(), session.get("sid"), now())
    return User(found) if found and str(found["id"]) == str(user_id) else None


def forget_request_user(exc=None):
    """Nothing request-scoped outlives the request."""
    g.pop("api_user", None)
