"""Replay: a case rebuilt from its definition version and its recorded events alone agrees with the
stored state; a corrupted stored state or a doctored event is reported with where it diverges;
any earlier moment can be looked at without changing anything. Also `bpmdesk replay` and
`bpmdesk history`.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text, update

from complaint_walks import walked_desk
from engine import services
from engine.cli import main
from engine.store import Database, Event, Instance

CASES = 24


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from walked_desk(tmp_path_factory.mktemp("replay"), CASES)


def events_of(db: Database, case: int) -> list[Event]:
    return services.history(db, case, services.Actor.operator())


def case_where(db: Database, predicate: Any) -> int:
    """The first case one of whose events matches."""
    with db.unit_of_work() as session:
        return session.scalar(select(Event.instance_id).where(Event.instance_id.is_not(None), predicate)
                              .order_by(Event.instance_id).limit(1))


def test_the_walks_cover_timers_escalations_loops_cancellations_and_open_cases(desk):
    with desk.unit_of_work() as session:
        kinds = Counter(dict(session.execute(select(Event.type, func.count()).group_by(Event.type)).all()))
        statuses = set(session.scalars(select(Instance.status)))
        reminders = session.scalar(select(func.count()).where(
            Event.type == "task_completed", Event.element_id.like("Task_Remind%")))
    assert kinds["timer_fired"] >= 5 and kinds["timer_cancelled"] >= 5 and reminders >= 2
    assert kinds["task_delegated"] and kinds["task_unclaimed"] and kinds["task_claimed"]
    assert statuses == {"running", "completed", "cancelled"}


def test_every_walked_case_replays_to_its_stored_state(desk):
    results = [services.replay(desk, case, services.Actor.operator()) for case in range(1, CASES + 1)]
    assert [(r.instance_id, str(r.divergence)) for r in results if not r.agrees] == []
    assert all(r.compared and r.events == len(events_of(desk, r.instance_id)) for r in results)


@pytest.fixture
def corrupt(desk: Database) -> Iterator[Any]:
    """Change a stored instance by raw SQL; every change is undone after the test."""
    saved: list[tuple[int, str, str]] = []

    def apply(case: int, **values: Any) -> None:
        with desk.engine.begin() as conn:
            row = conn.execute(select(Instance.state, Instance.status).where(Instance.id == case)).one()
            saved.append((case, row.state, row.status))
            conn.execute(update(Instance.__table__).where(Instance.id == case).values(**values))

    yield apply
    with desk.engine.begin() as conn:
        for case, state, status in reversed(saved):
            conn.execute(update(Instance.__table__).where(Instance.id == case).values(state=state, status=status))


def stored_state(db: Database, case: int) -> str:
    with db.unit_of_work() as session:
        return session.get(Instance, case).state


def test_corrupted_case_data_in_the_stored_state_is_reported(desk, corrupt):
    case = case_where(desk, Event.type == "instance_completed")
    state = stored_state(desk, case)
    assert "车库照明坏了一半" in state
    corrupt(case, state=state.replace("车库照明坏了一半", "车库照明正常"))
    result = services.replay(desk, case, services.Actor.operator())
    assert not result.agrees and result.divergence.seq is None
    assert "case data (description)" in result.divergence.what
    assert f"after event #{len(events_of(desk, case))}" in result.divergence.what


def test_a_stored_status_that_no_event_explains_is_reported(desk, corrupt):
    case = case_where(desk, Event.type == "instance_cancelled")
    corrupt(case, status="completed")
    result = services.replay(desk, case, services.Actor.operator())
    assert not result.agrees and "status differ" in result.divergence.what
    assert "stored completed, replayed cancelled" in result.divergence.what


def test_a_doctored_event_makes_the_replay_diverge_at_the_first_event_it_contradicts(desk):
    """The record says a complaint was valid; flipping it to invalid sends the replay elsewhere."""
    case = case_where(desk, Event.element_id == "Task_DispatchToDepartment")
    classified = next(e for e in events_of(desk, case) if e.type == "task_completed")
    doctored = {**classified.payload, "data": {**classified.payload["data"], "validity": "invalid"}}
    with desk.engine.begin() as conn:
        conn.execute(update(Event.__table__).where(Event.id == classified.id).values(payload=doctored))
    try:
        result = services.replay(desk, case, services.Actor.operator())
    finally:
        with desk.engine.begin() as conn:
            conn.execute(update(Event.__table__).where(Event.id == classified.id).values(payload=classified.payload))
    assert result.divergence.seq == classified.seq + 1 and result.divergence.event_type == "task_ready"
    assert "Task_DispatchToDepartment is not open in the replay (open: Task_DeclineInvalidComplaint)" \
        in result.divergence.what


def test_replay_shows_any_earlier_moment_and_changes_nothing(desk):
    case = case_where(desk, Event.element_id == "Timer_PickUpOverdue")
    events = events_of(desk, case)
    pickup_ready = next(e for e in events if e.type == "task_ready" and e.element_id == "Task_PickUpTicket")
    before = (stored_state(desk, case), len(events))

    at_event = services.replay(desk, case, services.Actor.operator(), event=pickup_ready.seq)
    assert at_event.agrees and not at_event.compared and at_event.last_seq == pickup_ready.seq
    assert "Task_PickUpTicket" in [element for element, _ in at_event.snapshot.open_tasks]
    timers = {element: due for element, due, _ in at_event.snapshot.timers}
    assert (timers["Timer_PickUpOverdue"] - pickup_ready.at).total_seconds() == 15 * 60
    assert at_event.snapshot.data["description"] == "车库照明坏了一半"

    at_time = services.replay(desk, case, services.Actor.operator(), at=pickup_ready.at)
    assert at_time.last_at == pickup_ready.at and at_time.snapshot.open_tasks == at_event.snapshot.open_tasks
    assert (stored_state(desk, case), len(events_of(desk, case))) == before


@pytest.fixture(scope="module")
def cli(desk: Database) -> Any:
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), env={"BPMDESK_DATABASE_URL": desk.url})


def test_cli_replay_exit_codes(desk, cli, corrupt):
    case = case_where(desk, Event.type == "instance_completed")
    agreed = cli("replay", str(case))
    assert agreed.exit_code == 0 and "agrees with the stored state" in agreed.output
    as_of = cli("replay", str(case), "--event", "2")
    assert as_of.exit_code == 0 and "as of event #2" in as_of.output and "Task_ClassifyComplaint" in as_of.output
    assert cli("replay", str(case), "--event", "2", "--at", "2026-03-02T09:00").exit_code == 2
    assert cli("replay", "9999").exit_code == 2
    corrupt(case, status="running")
    diverged = cli("replay", str(case))
    assert diverged.exit_code == 1 and "DIVERGES at stored state: status differ" in diverged.output


def test_cli_history_prints_who_did_what_and_the_data_it_changed(desk, cli):
    case = case_where(desk, Event.type == "task_delegated")
    shown = cli("history", str(case))
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    assert lines[0].split() == ["#", "TIME", "ACTOR", "EVENT", "TASK", "DETAIL"]
    assert len(lines) == 1 + len(events_of(desk, case))
    assert any("task_delegated" in line and "to=" in line for line in lines)
    assert any("task_completed" in line and 'responsible_dept="' in line for line in lines)
    assert cli("history", "9999").exit_code == 2


def test_history_json_lists_every_event_with_its_changes(desk, cli):
    shown = cli("history", "1", "--json")
    assert shown.exit_code == 0 and '"type": "instance_started"' in shown.output
    with desk.engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM event WHERE chain = 'i:1'")).scalar()
    assert shown.output.count('"seq":') == count
