"""The logged-in person as Flask-Login sees them: a thin wrapper over the users row."""

from flask import g
from flask_login import UserMixin

from logbook import accounts

from . import database


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
    """Flask-Login's loader: the active user with this id, or None."""
    if not str(user_id).isdigit() or len(str(user_id)) > 18:
        return None
    found = accounts.user_by_id(database(), int(user_id))
    return User(found) if found else None


def forget_request_user(exc=None):
    """Nothing request-scoped outlives the request."""
    g.pop("api_user", None)
