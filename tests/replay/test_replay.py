"""Recorded histories still replay against today's TicketWorkflow (and IncidentWorkflow).

A failure here means a change to the workflow's code would break tickets already running:
their next workflow task would hit a non-determinism error. Make such a change behind
`workflow.patched(...)`, or re-record (python -m tests.replay.record_histories) only when
no running workflow can have the old shape.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.replay.record_histories import HISTORIES
from worker import workflow_runner
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow

RECORDED = sorted(HISTORIES.glob("*.json"))


def test_histories_are_recorded() -> None:
    # An empty folder would make the replay below pass by testing nothing.
    assert {p.stem for p in RECORDED} >= {
        "lifecycle", "spam", "merge_duplicate", "merge_target", "continue_as_new_run1",
        "sla_breach", "push_overflow", "degraded_projection", "satisfaction",
        "p0_heartbeat",
    }


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())

    # Raises on any non-determinism (a command the history does not have, or the reverse).
    replayer = Replayer(workflows=[TicketWorkflow, IncidentWorkflow],
                        workflow_runner=workflow_runner())
    result = await replayer.replay_workflow(history)

    assert result.replay_failure is None
