"""The scheduler runs as exactly one process: a non-blocking fcntl lock elects one leader."""

from __future__ import annotations

import multiprocessing
import time

from market import scheduler
from market.scheduler import acquire_leader_lock, build_scheduler, register_job, registered_jobs


def _contend(path: str, start, results) -> None:
    from pathlib import Path

    start.wait()
    handle = acquire_leader_lock(Path(path))
    results.put(handle is not None)
    time.sleep(0.5)  # hold it while the others try
    if handle:
        handle.close()


def test_lock_gives_exactly_one_leader(tmp_path):
    ctx = multiprocessing.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(str(tmp_path / "scheduler.lock"), start, results)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    outcomes = [results.get(timeout=10) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    assert sorted(outcomes) == [False, False, False, True]
    # released when the leader is gone: the next one may lead
    handle = acquire_leader_lock(tmp_path / "scheduler.lock")
    assert handle is not None
    handle.close()


def test_second_scheduler_exits_with_a_clear_message(app, tmp_path, monkeypatch):
    lock = tmp_path / "scheduler.lock"
    monkeypatch.setitem(app.config, "SCHEDULER_LOCK_FILE", str(lock))
    held = acquire_leader_lock(lock)
    try:
        result = app.test_cli_runner().invoke(args=["scheduler", "run"])
    finally:
        held.close()
    assert result.exit_code == 1
    assert "another scheduler is already running" in result.output


def test_registry_is_idempotent_and_jobs_run_in_app_context(app, monkeypatch):
    monkeypatch.setattr(scheduler, "_registry", {})
    seen = []

    def job():
        from flask import current_app

        seen.append(current_app.name)

    register_job("test.tick", job, "interval", minutes=5)
    register_job("test.tick", job, "interval", minutes=1)  # re-registered: replaced, not doubled
    assert [(s.id, s.trigger_args) for s in registered_jobs()] == [("test.tick", {"minutes": 1})]
    sched = build_scheduler(app, blocking=False)
    jobs = sched.get_jobs()
    assert [j.id for j in jobs] == ["test.tick"]
    assert str(sched.timezone) == "Asia/Shanghai"
    jobs[0].func()  # what the scheduler calls
    assert seen == [app.name]


def test_outbox_drain_is_scheduled(app):
    """Mail, index updates and alerts lost to a crash, a busy writer or a mail server that was down
    are delivered within a minute by the scheduler's one drain (the old search-only sync is gone)."""
    from market.outbox import drain_job, purge
    from market.scheduler import registered_jobs

    jobs = {spec.id: spec for spec in registered_jobs()}
    assert jobs["outbox.drain"].func is drain_job
    assert jobs["outbox.drain"].trigger_args == {"minutes": 1}
    assert jobs["outbox.purge"].func is purge
    # the search feature's own jobs rebuild an index whose schema the code outgrew and make the sentence embeddings
    # the index updates left (a bulk import); neither delivers index updates
    assert {j for j in jobs if j.startswith("search.")} == {"search.rebuild_outdated", "search.embed"}
