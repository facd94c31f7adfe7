"""The scheduler's log: a routine tick is DEBUG; job runs, failures and lease changes are INFO."""

from __future__ import annotations

import logging

import pytest

from app.scheduler import APSCHEDULER_EXECUTOR_LOGGER, JobScheduler
from tests.factories import set_clock

IGNORE_UNARY_DISTINCT = pytest.mark.filterwarnings("ignore:Column-expression-level unary distinct")


def info_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.INFO]


@IGNORE_UNARY_DISTINCT
def test_an_idle_tick_logs_nothing_at_info(client, caplog):
    set_clock(client, "2026-03-10T10:00:00+08:00")
    caplog.set_level(logging.DEBUG)
    runner = JobScheduler()
    runner.tick()  # the first tick takes the lease and runs the day's jobs: INFO
    first = [record.getMessage() for record in info_records(caplog)]
    assert any("lease month-jobs taken" in message for message in first), first
    assert any("job run:" in message for message in first), first
    caplog.clear()

    runner.tick()  # nothing due, the lease renewed
    assert info_records(caplog) == []
    assert any("nothing due" in record.getMessage() for record in caplog.records)
    runner.shutdown()


def test_apscheduler_tick_lines_are_lowered_to_debug(caplog):
    JobScheduler()  # installs the filter
    executor_log = logging.getLogger(APSCHEDULER_EXECUTOR_LOGGER)
    caplog.set_level(logging.INFO)
    caplog.clear()  # APScheduler's one-off start-up lines ("Adding job tentatively")
    executor_log.info('Running job "tick" (scheduled at 2026-03-10 10:00:00+08:00)')
    executor_log.info('Job "tick" executed successfully')
    assert caplog.records == []
    executor_log.error('Job "tick" raised an exception')
    assert [record.levelno for record in caplog.records] == [logging.ERROR]

    caplog.clear()
    caplog.set_level(logging.DEBUG, logger=APSCHEDULER_EXECUTOR_LOGGER)
    executor_log.info('Job "tick" executed successfully')
    assert [record.levelno for record in caplog.records] == [logging.DEBUG]
