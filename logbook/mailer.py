"""Mail for the firm's inbox: the same messages as the in-app inbox, sent when an SMTP server is configured."""

import smtplib
from email.message import EmailMessage

from . import inbox


def send(settings, recipients, subject, body):
    """Send one plain-text mail through the configured server."""
    message = EmailMessage()
    message["From"] = settings["from"]
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings["host"], settings["port"], timeout=30) as server:
        if settings.get("starttls"):
            server.starttls()
        if settings.get("user"):
            server.login(settings["user"], settings["password"])
        server.send_message(message)


def mail_pending(db, settings, compose, now, today):
    """Mail every unmailed inbox message to its enterprise's firm users; return (sent, skipped).

    `compose(message)` returns (subject, body); a message whose enterprise has no address is marked done.
    """
    sent = skipped = 0
    inbox.remind_deadlines(db, today, now)
    for message in inbox.unmailed(db):
        recipients = [r for r in (message["recipients"] or "").split(",") if r]
        if recipients:
            subject, body = compose(message)
            send(settings, recipients, subject, body)
            sent += 1
        else:
            skipped += 1
        inbox.mark_mailed(db, message["id"], now)
    return sent, skipped
