"""gunicorn's settings for the logbook. gunicorn reads this file from the directory it starts in (the project root),
so `make run`, the deployment's unit, the tests' servers and the benchmarks all serve the same way.

Its master starts the writer process (logbook/writer_process.py) beside the workers, starts it again if it fails,
starts a new one on a reload (kill -HUP, after an upgrade: the workers then run the new code, and so must it), and
stops it on exit: every worker's writes then commit together in groups. LOGBOOK_WRITER_PROCESS=0 leaves it out (each
worker then writes itself, taking turns with the others)."""

from logbook import settings, writer_process


def on_starting(server):
    config = settings.from_environment()
    if config["LOGBOOK_WRITER_PROCESS"]:
        server.stop_writer = writer_process.supervise(config["LOGBOOK_DATABASE"], config["LOGBOOK_SYNCHRONOUS"])


def on_reload(server):
    on_exit(server)
    on_starting(server)


def on_exit(server):
    stop = getattr(server, "stop_writer", None)
    if stop:
        stop()
        server.stop_writer = None
