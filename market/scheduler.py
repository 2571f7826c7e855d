"""The scheduler: one process (`flask --app market scheduler run`), jobs registered by features.

A feature registers its periodic work once, at import or in its ``init_app``::

    from market.scheduler import register_job
    register_job("search.catch_up", catch_up, "interval", minutes=1)

Two schedulers on one job store silently run every job twice (STACK.md), so the process takes a
non-blocking ``fcntl.flock`` on ``instance/scheduler.lock`` and a second one exits at once. Jobs
must still be idempotent in the database: a crash between work and commit may repeat a run.

Job store: the app database by default (``SCHEDULER_JOBSTORE_URL`` names another, ``memory`` keeps
jobs in memory; tests use memory): jobs live in APScheduler 3's ``SQLAlchemyJobStore`` (table ``apscheduler_jobs``, created by
APScheduler): each job is stored as the textual reference ``market.scheduler:run_registered`` with
its id, and a restart keeps each job's stored next run time, so a run missed while the scheduler was
down happens once on restart (``coalesce``, within ``misfire_grace_time``). Jobs no longer
registered are removed from the store.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

log = logging.getLogger("market.scheduler")


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], Any]
    trigger: str  # "interval" | "cron" | "date" (APScheduler 3 trigger aliases)
    trigger_args: dict[str, Any] = field(default_factory=dict)


_registry: dict[str, JobSpec] = {}


def jobstore_url(app: Any) -> str | None:
    """Where the scheduler keeps its jobs: SCHEDULER_JOBSTORE_URL, else the app database (persistent);
    None (in memory) for ``memory``, in tests, and for an in-memory SQLite database."""
    url = app.config.get("SCHEDULER_JOBSTORE_URL")
    if url == "memory" or (url is None and app.testing):
        return None
    url = url or app.config["SQLALCHEMY_DATABASE_URI"]
    return None if url in ("sqlite://", "sqlite:///:memory:") else url


def register_job(job_id: str, func: Callable[[], Any], trigger: str, **trigger_args: Any) -> JobSpec:
    """Register (or replace) the job ``job_id``. Registering the same id twice keeps one job."""
    spec = JobSpec(job_id, func, trigger, dict(trigger_args))
    _registry[job_id] = spec
    return spec


def registered_jobs() -> list[JobSpec]:
    return sorted(_registry.values(), key=lambda s: s.id)


def lock_path(app: Flask) -> Path:
    return Path(app.config.get("SCHEDULER_LOCK_FILE") or Path(app.instance_path) / "scheduler.lock")


def acquire_leader_lock(path: Path) -> IO[str] | None:
    """Take the scheduler lock without waiting. Returns the open lock file (keep it open), or None.

    The lock belongs to the open file: it is released when the process exits, even on a crash.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 (held for the life of the process)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _in_app_context(app: Flask, spec: JobSpec) -> Callable[[], None]:
    """The boundary of a scheduled job: run it in an app context, commit once at its end, or roll
    back everything it flushed if it fails (jobs call services, which flush and never commit)."""

    def run() -> None:
        from market.web import commit, rollback

        with app.app_context():
            log.info("job %s starting", spec.id)
            try:
                spec.func()
                commit()
            except Exception:
                rollback()
                log.exception("job %s failed", spec.id)
                raise
            log.info("job %s done", spec.id)

    return run


_app: Flask | None = None  # the app the persistent job store's jobs run in (set by build_scheduler)


def run_registered(job_id: str) -> None:
    """What a persistent job store stores: a picklable textual reference, run in the app's context."""
    if _app is None:
        raise RuntimeError("the scheduler was not built: no app to run jobs in")
    _in_app_context(_app, _registry[job_id])()


def build_scheduler(app: Flask, blocking: bool = True):
    """An APScheduler 3 scheduler (Asia/Shanghai) with every registered job."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    global _app
    _app = app
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    url = jobstore_url(app)
    stored: dict[str, Any] = {}
    if url:
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        store = SQLAlchemyJobStore(url=url, tablename="apscheduler_jobs")
        store.jobs_t.create(store.engine, checkfirst=True)
        table = store.jobs_t
        with store.engine.begin() as conn:
            stored = dict(conn.execute(table.select().with_only_columns(table.c.id, table.c.next_run_time)).all())
            gone = set(stored) - set(_registry)
            if gone:  # a job no longer registered must not run from the store
                conn.execute(table.delete().where(table.c.id.in_(gone)))
        scheduler.add_jobstore(store, "default")
    for spec in registered_jobs():
        options: dict[str, Any] = dict(
            id=spec.id,
            name=spec.id,
            replace_existing=True,
            coalesce=True,  # a backlog after downtime runs once, not once per missed slot
            max_instances=1,
            misfire_grace_time=300,
            **spec.trigger_args,
        )
        if url:
            if stored.get(spec.id) is not None:  # keep the stored schedule: a missed run still happens
                import datetime as dt

                options["next_run_time"] = dt.datetime.fromtimestamp(stored[spec.id], dt.UTC)
            scheduler.add_job("market.scheduler:run_registered", spec.trigger, args=[spec.id], **options)
        else:
            scheduler.add_job(_in_app_context(app, spec), spec.trigger, **options)
    return scheduler


@click.group("scheduler", cls=AppGroup)
def scheduler_cli() -> None:
    """The background scheduler (run exactly one per deployment)."""


@scheduler_cli.command("run")
def run() -> None:
    """Run the scheduler in the foreground until stopped. A second one exits with an error."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    path = lock_path(app)
    handle = acquire_leader_lock(path)
    if handle is None:
        raise click.ClickException(f"another scheduler is already running (lock held on {path}); exiting")
    jobs = registered_jobs()
    click.echo(f"scheduler: leader (pid {os.getpid()}, lock {path}); {len(jobs)} job(s)")
    for spec in jobs:
        click.echo(f"  {spec.id}: {spec.trigger} {spec.trigger_args}")
    try:
        build_scheduler(app).start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        handle.close()


@scheduler_cli.command("list")
def list_jobs() -> None:
    """List the registered jobs."""
    for spec in registered_jobs():
        click.echo(f"{spec.id}\t{spec.trigger}\t{spec.trigger_args}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(scheduler_cli)
