"""The command line of SPEC §6: `flask init-db`, `flask demo`, and the agencies, items, users,
enterprises, rules, journal and draws groups."""

import os
import sqlite3
import sys
import time

import click
from flask import current_app, render_template
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale

from logbook import (
    accounts,
    agencies,
    audit,
    backup,
    checkpoints,
    db,
    demo,
    draws,
    enterprises,
    errors,
    inspections,
    limits,
    mailer,
    notices,
    stats,
    tasks,
)

from . import database, now, today, tz

agencies_cli = AppGroup("agencies", help="Manage enforcement agencies (执法主体).")
items_cli = AppGroup("items", help="Manage agencies' inspection item lists (检查事项清单).")
users_cli = AppGroup("users", help="Manage users: inspectors, firm users, supervisors, admins.")
enterprises_cli = AppGroup("enterprises", help="Import enterprises and print their scan URLs.")
rules_cli = AppGroup("rules", help="Manage limit rules (max inspections per window).")
journal_cli = AppGroup("journal", help="Check the tamper-evident journal.")
draws_cli = AppGroup("draws", help="Check random draws (双随机): recompute them from what they published.")
notifications_cli = AppGroup("notifications", help="Mail the firms' inbox messages (when SMTP is configured).")


def fail(message):
    """Print an error on stderr and exit 1."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def parsed_csv(file, parse):
    """A CSV file (UTF-8, with or without BOM) parsed by `parse`, or exit 1 naming every bad line: nothing is
    imported unless every line is good."""
    try:
        with open(file, encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        fail(f"the file is not UTF-8 (byte {e.start}); save it as UTF-8 and try again")
    try:
        return parse(text)
    except errors.ImportFailed as e:
        for problem in e.problems:
            click.echo(problem, err=True)
        fail(f"{len(e.problems)} bad line(s); nothing was imported")


@click.command("init-db")
@with_appcontext  # plain commands get no app context from app.cli (e.g. app.test_cli_runner())
def init_db():
    """Create or migrate the database; safe to rerun, never drops data."""
    path = current_app.config["LOGBOOK_DATABASE"]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    migrate(database())
    click.echo(f"Database ready: {path}")


def migrate(store):
    """Migrate the database, and fill the supervisor's counters when they were never filled or were kept in another
    time zone (an upgraded database, a changed LOGBOOK_TIMEZONE)."""
    db.migrate(store)
    if stats.counted_in(store) != str(tz()):
        click.echo(f"Counting the inspections for the supervisor's numbers ({tz()})…")
        click.echo(f"Counted {stats.recount(store, tz()):,} inspections.")


@click.command("demo")
@with_appcontext
def load_demo():
    """Load demo data (idempotent) and print its logins."""
    store = database()
    migrate(store)
    at = now()
    logins = demo.load(store, at.astimezone(tz()).date(), at, tz(), current_app.config["LOGBOOK_PASSWORD_HASH"],
                       current_app.config["LOGBOOK_PHOTOS"])
    click.echo(f"Demo data loaded. Every demo login uses the password: {demo.PASSWORD}")
    for username, role, name in logins:
        click.echo(f"  {role:<11} {username:<14} {name}")
    first = enterprises.by_usci(store, demo.demo_usci(demo.ENTERPRISES[0][0]))
    click.echo(f"Scan URL of {first['name']}: "
               f"{enterprises.scan_url(current_app.config['LOGBOOK_BASE_URL'], first['qr_token'])}")


@agencies_cli.command("add")
@click.argument("code")
@click.argument("name")
def agencies_add(code, name):
    """Add an agency (or rename an existing code)."""
    try:
        agencies.add_agency(database(), code, name)
    except errors.DirectoryError as e:
        fail(e)
    click.echo(f"Agency {code.upper()} saved.")


@items_cli.command("add")
@click.argument("agency_code")
@click.argument("item_code")
@click.argument("name")
@click.option("--basis", help="Legal basis (执法依据) of the item.")
def items_add(agency_code, item_code, name, basis):
    """Add an item to an agency's inspection list."""
    try:
        agencies.add_item(database(), agency_code, item_code, name, basis)
    except errors.DirectoryError as e:
        fail(e)
    click.echo(f"Item {item_code} saved.")


@items_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def items_import(file):
    """Import items' checkpoints from CSV (agency,item_code,item_name,basis,checkpoint,standard); all or nothing."""
    parsed = parsed_csv(file, lambda text: checkpoints.parse_csv(database(), text))
    items, count = checkpoints.import_checkpoints(database(), parsed)
    click.echo(f"Imported {count} checkpoints of {items} items.")


@users_cli.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES))
@click.option("--name", default="", help="Full name shown to others.")
@click.option("--agency", help="Agency code (inspectors).")
@click.option("--cert-no", help="Enforcement certificate number (inspectors).")
@click.option("--cert-expires", help="Certificate expiry date, YYYY-MM-DD.")
@click.option("--usci", "usci_code", help="The enterprise a firm user acts for.")
@click.option("--email", help="Address for mailed inbox messages (firm users).")
def users_add(username, role, name, agency, cert_no, cert_expires, usci_code, email):
    """Add a user; the password comes from LOGBOOK_PASSWORD if set, else it is prompted for."""
    if cert_expires:
        from datetime import date
        try:
            date.fromisoformat(cert_expires)
        except ValueError:
            fail("--cert-expires must be a date as YYYY-MM-DD")
    password = os.environ.get("LOGBOOK_PASSWORD") or click.prompt("Password", hide_input=True,
                                                                   confirmation_prompt=True)
    try:
        accounts.add_user(database(), username, password, role, name=name, agency=agency, cert_no=cert_no,
                          cert_expires_on=cert_expires, usci_code=usci_code, email=email,
                          hash_method=current_app.config["LOGBOOK_PASSWORD_HASH"])
    except errors.AccountError as e:
        fail(e)
    click.echo(f"User {username} ({role}) added.")


@enterprises_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def enterprises_import(file):
    """Import enterprises from CSV (usci,name[,address,industry,risk_level,lat,lon]); all or nothing."""
    parsed = parsed_csv(file, enterprises.parse_csv)
    with click.progressbar(length=len(parsed), label="Importing", file=sys.stderr) as bar:
        added, updated = enterprises.import_enterprises(database(), parsed, progress=bar.update)
    click.echo(f"Imported {len(parsed)} enterprises: {added} new, {updated} updated.")


@enterprises_cli.command("url")
@click.argument("usci")
def enterprises_url(usci):
    """Print the enterprise's scan URL (the content of its QR code)."""
    found = enterprises.by_usci(database(), usci)
    if not found:
        fail(f"no enterprise with USCI {usci}")
    click.echo(enterprises.scan_url(current_app.config["LOGBOOK_BASE_URL"], found["qr_token"]))


@enterprises_cli.command("rotate")
@click.argument("usci")
def enterprises_rotate(usci):
    """Replace the enterprise's QR token; old posters then say the code has been replaced."""
    found = enterprises.by_usci(database(), usci)
    if not found:
        fail(f"no enterprise with USCI {usci}")
    token = enterprises.rotate_qr_token(database(), found["id"])
    click.echo(enterprises.scan_url(current_app.config["LOGBOOK_BASE_URL"], token))


@rules_cli.command("add")
@click.option("--max", "max_count", required=True, type=click.IntRange(min=0), help="Most inspections allowed.")
@click.option("--agency", help="Limit one agency (default: all agencies together).")
@click.option("--risk", help="Only enterprises of this risk level (A-D).")
@click.option("--industry", help="Only enterprises of this industry.")
@click.option("--usci", "usci_code", help="Only this enterprise (max 0 white-lists it).")
@click.option("--window", default="year", show_default=True, help="year (calendar year) or days:N (rolling).")
def rules_add(max_count, agency, risk, industry, usci_code, window):
    """Add a limit rule."""
    try:
        rule_id = limits.add_rule(database(), max_count, agency, risk, industry, usci_code, window)
    except errors.RuleError as e:
        fail(e)
    click.echo(f"Rule {rule_id} added.")


@rules_cli.command("list")
def rules_list():
    """List the active limit rules."""
    for rule in limits.active_rules(database()):
        click.echo(rule.describe())


@journal_cli.command("verify")
@click.option("--head", "published", help="A head hash published earlier: the journal must still extend it.")
def journal_verify(published):
    """Check the journal's hash chain; exit status 0 only if it is intact (and extends --head)."""
    if published is not None and not (len(published) == 64 and all(c in "0123456789abcdef" for c in published)):
        fail("--head is a journal hash: 64 lower-case hexadecimal characters")
    status = audit.verify_journal(database(), published, current_app.config["LOGBOOK_PHOTOS"])
    if status["ok"]:
        click.echo(f"Journal intact: {status['entries']} entries, head {status['head']}")  # record the head elsewhere too
    else:
        click.echo(f"Journal BROKEN: {len(status['problems'])} problem(s) in {status['entries']} readable entries",
                   err=True)
        for problem in status["problems"]:
            click.echo(f"  {problem}", err=True)
    try:  # the supervisors' quick check goes on from here
        audit.record_check(database(), status, now(), full=True)
    except sqlite3.OperationalError as e:  # e.g. a long import holding the write lock: the verdict above stands
        click.echo(f"(the outcome could not be recorded for the quick check: {e})", err=True)
    sys.exit(0 if status["ok"] else 1)


@draws_cli.command("verify")
@click.argument("draw_id", metavar="ID", type=click.IntRange(1, 2**63 - 1))
def draws_verify(draw_id):
    """Recompute a draw from its stored seed and candidates; exit status 0 only if the firms and pairs match exactly."""
    differences = draws.verify(database(), draw_id)
    if differences is None:
        fail(f"no draw with id {draw_id}")
    if differences:
        click.echo(f"Draw {draw_id} does NOT recompute: {len(differences)} difference(s)", err=True)
        for difference in differences:
            click.echo(f"  {difference}", err=True)
        sys.exit(1)
    found = draws.draw_by_id(database(), draw_id)
    click.echo(f"Draw {draw_id} OK: {len(found['enterprises'])} firm(s) and their pairs recomputed exactly from the seed "
               f"and {found['candidate_count']} candidates (hash {found['candidates_hash']})")


@notifications_cli.command("mail")
@click.option("--every", type=click.IntRange(min=0), default=0,
              help="Keep running, mailing new messages every this many seconds (0: once and exit).")
def notifications_mail(every):
    """Mail the inbox messages not mailed yet to the firm users who gave an email address."""
    config = current_app.config
    if not config["LOGBOOK_SMTP_HOST"]:
        fail("LOGBOOK_SMTP_HOST is not set; the in-app inbox works without mail")
    settings = {"host": config["LOGBOOK_SMTP_HOST"], "port": config["LOGBOOK_SMTP_PORT"],
                "from": config["LOGBOOK_SMTP_FROM"], "user": config["LOGBOOK_SMTP_USER"],
                "password": config["LOGBOOK_SMTP_PASSWORD"], "starttls": config["LOGBOOK_SMTP_STARTTLS"]}
    while True:
        at = now()
        sent, skipped = mailer.mail_pending(database(), settings, compose_mail, at, at.astimezone(tz()).date())
        click.echo(f"Mailed {sent} message(s); {skipped} had no address.")
        if not every:
            return
        time.sleep(every)


def compose_mail(message):
    """Subject and body of one inbox message, in Chinese, as the inbox shows it."""
    base = current_app.config["LOGBOOK_BASE_URL"].rstrip("/")
    if message["task_id"]:  # a notice of inspection (检查预告)
        task = tasks.task_by_id(database(), message["task_id"], today())
        with force_locale("zh"):
            return f"[扫码入企] {message['enterprise']}", render_template(
                "mail/notification.txt", message=message, notice=notices.notice_of(task), inspection=None,
                enterprise=message["enterprise"], agencies=task["agency_name"], link=f"{base}/firm/notices/{task['id']}")
    found = inspections.inspection(database(), message["inspection_id"])
    with force_locale("zh"):
        subject = f"[扫码入企] {message['enterprise']}"
        body = render_template("mail/notification.txt", message=message, inspection=found,
                               enterprise=message["enterprise"],
                               agencies="、".join(a["name"] for a in found["agency_details"]),
                               link=f"{current_app.config['LOGBOOK_BASE_URL'].rstrip('/')}/firm/inspections/{found['id']}")
    return subject, body


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@with_appcontext
def backup_database(file, force):
    """Write a consistent copy of the live database to FILE; safe while the server serves."""
    try:
        copy = backup.back_up(current_app.config["LOGBOOK_DATABASE"], file, force=force)
    except backup.BackupFailed as e:
        fail(e)
    click.echo(f"Backup written: {copy.path} ({copy.size} bytes, {copy.pages} pages), "
               f"journal head {copy.journal_head or 'none'}")


def register(app):
    """Attach every command to the app's `flask` CLI."""
    for command in (init_db, load_demo, agencies_cli, items_cli, users_cli, enterprises_cli, rules_cli, journal_cli, draws_cli,
                    notifications_cli, backup_database):
        app.cli.add_command(command)
