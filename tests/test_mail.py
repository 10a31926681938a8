"""Inbox messages go out by mail when SMTP is configured: tested against a small real SMTP server on loopback."""

import socketserver
import threading
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from conftest import add_user

from logbook import accounts, inspections, tasks
from logbook.db import value


class SMTPSink(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every message received is appended to server.messages."""

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink ready")
        envelope = {"to": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                envelope = {"from": command, "to": []}
                self.reply("250 ok")
            elif verb == "RCPT":
                envelope["to"].append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.messages.append((envelope["to"], data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTPSink)
    server.daemon_threads = True
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def start_one(store, world):
    caller = accounts.user_by_username(store, "ann")
    return inspections.record_inspection(store, caller, inspections.StartRequest(**{
        "qr_token": world["enterprise"]["qr_token"], "kind": "routine", "inspectors": ["bob"],
        "items": ["SCJG-001"]}), datetime.now(UTC), ZoneInfo("Asia/Shanghai"))


def test_inbox_messages_are_mailed_once_to_firm_users_with_an_address(app, store, world, smtp):
    add_user(store, "firm2", "firm", usci_code=world["enterprise"]["usci"], email="office@firm.example")
    start_one(store, world)
    app.config.update(LOGBOOK_SMTP_HOST="127.0.0.1", LOGBOOK_SMTP_PORT=smtp.server_address[1])
    runner = app.test_cli_runner()
    first = runner.invoke(args=["notifications", "mail"])
    assert first.exit_code == 0, first.output
    assert "Mailed 1" in first.output
    assert len(smtp.messages) == 1
    recipients, data = smtp.messages[0]
    assert recipients == ["office@firm.example"]
    mail = message_from_bytes(data, policy=policy.default)
    assert world["enterprise"]["name"] in mail["Subject"]
    assert "有检查开始" in mail.get_content()
    assert value(store, "SELECT count(*) FROM notifications WHERE mailed_at IS NULL") == 0
    again = runner.invoke(args=["notifications", "mail"])
    assert "Mailed 0" in again.output and len(smtp.messages) == 1


def test_without_an_smtp_host_the_command_says_so_and_the_inbox_still_fills(app, store, world):
    start_one(store, world)
    result = app.test_cli_runner().invoke(args=["notifications", "mail"])
    assert result.exit_code == 1
    assert "LOGBOOK_SMTP_HOST" in result.output
    assert value(store, "SELECT count(*) FROM notifications WHERE kind = 'started'") == 1


def test_a_notice_of_inspection_is_mailed_with_its_window_items_and_inspectors(app, store, world, smtp):
    add_user(store, "firm2", "firm", usci_code=world["enterprise"]["usci"], email="office@firm.example")
    add_user(store, "head-sc", "head", agency="SCJG")
    first = date.today() + timedelta(days=5)
    task_id = tasks.draft_task(store, accounts.user_by_username(store, "ann"), tasks.TaskRequest(
        kind="routine", window_start=first, window_end=first + timedelta(days=5), usci=world["enterprise"]["usci"],
        items=["SCJG-001"], inspectors=["bob"], notice=True), datetime.now(UTC), date.today())
    tasks.approve_task(store, task_id, accounts.user_by_username(store, "head-sc"), None, datetime.now(UTC),
                       date.today(), 3)
    app.config.update(LOGBOOK_SMTP_HOST="127.0.0.1", LOGBOOK_SMTP_PORT=smtp.server_address[1])
    result = app.test_cli_runner().invoke(args=["notifications", "mail"])
    assert result.exit_code == 0, result.output
    body = message_from_bytes(smtp.messages[0][1], policy=policy.default).get_content()
    for text in ("检查预告", first.isoformat(), "食品经营许可检查", "C-ann", "C-bob", f"/firm/notices/{task_id}"):
        assert text in body
