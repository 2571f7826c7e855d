"""The persistent job store (SCHEDULER_JOBSTORE_URL): jobs are stored by textual reference, a restart
keeps each job's next run time, jobs no longer registered leave the store, and a stored job runs in
the app's context."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, text

from market import scheduler
from market.scheduler import build_scheduler, register_job


@pytest.fixture
def store(app, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setitem(app.config, "SCHEDULER_JOBSTORE_URL", url)
    monkeypatch.setattr(scheduler, "_registry", {})
    return url


def _stored(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs")).all())
    engine.dispose()
    return rows


def test_jobs_persist_and_keep_their_schedule(app, store):
    seen = []

    def job():
        from flask import current_app

        seen.append(current_app.name)

    register_job("test.persisted", job, "interval", hours=6)
    register_job("test.dropped", job, "interval", hours=1)
    sched = build_scheduler(app, blocking=False)
    sched.start(paused=True)
    first = _stored(store)
    sched.shutdown(wait=False)
    assert set(first) == {"test.persisted", "test.dropped"}

    # the stored run time is kept on restart (a run missed while down still happens)
    engine = create_engine(store)
    earlier = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).timestamp()
    with engine.begin() as conn:
        conn.execute(text("UPDATE apscheduler_jobs SET next_run_time = :t WHERE id = 'test.persisted'"), {"t": earlier})
    engine.dispose()
    del scheduler._registry["test.dropped"]
    sched = build_scheduler(app, blocking=False)
    job_obj = sched.get_job("test.persisted")
    assert job_obj.next_run_time.timestamp() == pytest.approx(earlier)
    assert job_obj.func_ref == "market.scheduler:run_registered" and job_obj.args == ("test.persisted",)
    job_obj.func(*job_obj.args)
    assert seen == [app.name]
    assert set(_stored(store)) == {"test.persisted"}


def test_events_jobs_are_storable(app, tmp_path, monkeypatch):
    """The real registry (events, search...) goes into the store without pickling errors."""
    monkeypatch.setitem(app.config, "SCHEDULER_JOBSTORE_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    sched = build_scheduler(app, blocking=False)
    sched.start(paused=True)
    try:
        ids = {j.id for j in sched.get_jobs()}
    finally:
        sched.shutdown(wait=False)
    assert {"events.plan", "events.advance", "events.reminders"} <= ids


def test_the_store_is_the_app_database_unless_told_otherwise(app, monkeypatch):
    from market.scheduler import jobstore_url

    assert jobstore_url(app) is None  # tests: in memory
    monkeypatch.setattr(app, "testing", False)
    monkeypatch.setitem(app.config, "SQLALCHEMY_DATABASE_URI", "postgresql+psycopg://u@h/market")
    assert jobstore_url(app) == "postgresql+psycopg://u@h/market"  # persistent by default
    monkeypatch.setitem(app.config, "SCHEDULER_JOBSTORE_URL", "memory")
    assert jobstore_url(app) is None
    monkeypatch.setitem(app.config, "SCHEDULER_JOBSTORE_URL", "sqlite:////srv/jobs.db")
    assert jobstore_url(app) == "sqlite:////srv/jobs.db"
