"""The README documents every command and setting, and every command has help text."""

import os

from flask.cli import AppGroup

from logbook.settings import SETTINGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


def commands(app):
    """Our own commands (those of web/cli.py), as "flask group command" names."""
    for name, command in app.cli.commands.items():
        if isinstance(command, AppGroup):
            for sub_name, sub in command.commands.items():
                if sub.callback.__module__ == "web.cli":
                    yield f"flask {name} {sub_name}", sub
        elif getattr(command.callback, "__module__", None) == "web.cli":
            yield f"flask {name}", command


def test_every_command_has_help_and_appears_in_the_readme(app):
    text = readme()
    found = list(commands(app))
    assert len(found) >= 11
    for name, command in found:
        assert command.help, f"{name} has no help text"
        assert name in text, f"{name} is not in README.md"


def test_every_setting_is_documented(app):
    text = readme()
    for setting in SETTINGS:
        assert setting.help
        assert f"LOGBOOK_{setting.name}" in text, f"LOGBOOK_{setting.name} is not in README.md"


def test_readme_opens_with_the_two_front_door_commands():
    text = readme()
    assert "make run" in text.split("##")[0] and "make test" in text.split("##")[0]

