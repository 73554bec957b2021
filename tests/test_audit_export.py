"""Export for process mining: the XES log of a few hundred complaints is read by pm4py (a test-only
dependency, GPL, never imported by product code) with every case and event, and a process model
is discovered from it; the CSV has the same rows; filters choose whole cases.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pm4py
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from complaint_walks import complaint_desk, quick_complaints, walk_complaints
from engine import services
from engine.audit.export import LIFECYCLE
from engine.cli import main
from engine.store import Database, Event, Instance

ROOT = Path(__file__).resolve().parents[1]
WALKS, QUICK = 20, 180
SECOND_WEEK = "2026-03-09T09:00:00"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """Walked complaints in the first week, quick ones in the second, one case of another process."""
    db = complaint_desk(f"sqlite:///{tmp_path_factory.mktemp('export') / 'bpmdesk.db'}")
    walk_complaints(db, WALKS)
    quick_complaints(db, QUICK, start=SECOND_WEEK)
    services.deploy_paths(db, [ROOT / "tests" / "data" / "five_steps.bpmn"], services.Actor.operator("test"))
    services.start_instance(db, "five_steps", services.Actor.operator(), {})
    yield db
    db.dispose()


def expected_events(db: Database, process_id: str | None = None) -> int:
    query = select(func.count()).select_from(Event).join(Instance, Instance.id == Event.instance_id) \
        .where(Event.type.in_(LIFECYCLE))
    if process_id:
        query = query.where(Instance.process_id == process_id)
    with db.unit_of_work() as session:
        return session.scalar(query)


@pytest.fixture(scope="module")
def cli(desk: Database) -> Any:
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), env={"BPMDESK_DATABASE_URL": desk.url})


def test_pm4py_reads_every_case_and_event_of_the_xes_export_and_discovers_a_model(desk, cli, tmp_path):
    target = tmp_path / "complaints.xes"
    result = cli("export", "--format", "xes", "--process", "complaint_handling", "-o", str(target))
    events = expected_events(desk, "complaint_handling")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"exported {WALKS + QUICK} cases, {events} events to {target}"

    log = pm4py.read_xes(str(target))
    assert log["case:concept:name"].nunique() == WALKS + QUICK and len(log) == events
    assert {"concept:name", "time:timestamp", "lifecycle:transition", "org:resource", "org:group"} <= set(log)
    assert set(log["lifecycle:transition"]) <= set(LIFECYCLE.values())

    done = pm4py.filter_event_attribute_values(log, "lifecycle:transition", ["complete"], level="event")
    net, initial, final = pm4py.discover_petri_net_inductive(done)
    labels = {t.label for t in net.transitions if t.label}
    assert {"发起案件", "投诉分类", "婉拒无效投诉并记录原因", "回访业户", "取单超时督办", "15分钟未取单"} <= labels
    assert pm4py.fitness_token_based_replay(done, net, initial, final)["log_fitness"] == pytest.approx(1.0)


def test_csv_export_has_the_same_rows_and_columns_under_the_same_names(desk):
    xes, csv = io.BytesIO(), io.BytesIO()
    services.export_log(desk, "xes", xes, services.Actor.operator())
    counted = services.export_log(desk, "csv", csv, services.Actor.operator())
    assert counted.cases == WALKS + QUICK + 1 and counted.events == expected_events(desk)
    table = pd.read_csv(io.BytesIO(csv.getvalue()), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table.columns[:6]) == ["case:concept:name", "concept:name", "time:timestamp",
                                       "lifecycle:transition", "org:resource", "org:group"]
    assert len(table) == counted.events and table["case:concept:name"].nunique() == counted.cases
    started = table[table["bpmdesk:event"] == "instance_started"]
    assert set(started["org:resource"]) == {"frontdesk", "frontdesk2", "cli"}
    assert set(started[started["org:resource"] == "frontdesk"]["org:group"]) == {"front-desk"}
    pickup = table[(table["bpmn:element"] == "Task_PickUpTicket") & (table["lifecycle:transition"] == "complete")]
    assert set(pickup["org:group"]) <= {"engineering", "cleaning", "security", "landscaping"}
    assert table["time:timestamp"].str.endswith("+08:00").all()


def test_period_filter_keeps_whole_cases_started_in_it(desk, cli, tmp_path):
    target = tmp_path / "week2.csv"
    result = cli("export", "--format", "csv", "--from", "2026-03-09", "--to", "2026-03-15", "-o", str(target))
    assert result.exit_code == 0 and f"exported {QUICK} cases" in result.output
    table = pd.read_csv(target, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert table.groupby("case:concept:name")["bpmdesk:event"].first().eq("instance_started").all()


def test_bad_export_requests_are_refused_without_leaving_a_file(cli, tmp_path):
    target = tmp_path / "x.xes"
    refused = cli("export", "--format", "xes", "--from", "last monday", "-o", str(target))
    assert refused.exit_code == 2 and "error: 时间「last monday」不是 ISO 格式" in refused.output
    assert cli("export", "--format", "xes", "--from", "2026-03-09", "--to", "2026-03-01",
               "-o", str(target)).exit_code == 2
    assert cli("export", "--format", "pdf", "-o", str(target)).exit_code == 2
    assert list(tmp_path.iterdir()) == []
