"""Reports from the real cases: a week of complaints on a fixed clock gives exactly the expected
service-level figures, a supervisor sees only the groups they lead, every number lists its cases,
and ``report rebuild`` recomputes the same facts from the log."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import openpyxl
import pytest
from flask import Flask

from engine import clock, services
from engine.errors import Forbidden
from engine.services import reports
from engine.services.reports import Filter
from engine.store import Database
from conftest import ROOT
from report_week import COMPLAINT, MONDAY, NOW, USERS, Clock, walk_week
from test_webui_app import client_for, text
from webui import create_app
from webui_site import prepared_database

OPERATOR = services.Actor.operator()


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, list[int]]]:
    db = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'bpmdesk.db'}", USERS)
    # cleaning is led by the manager only: the supervisor does not see it
    services.set_group(db, "cleaning", "保洁", ["cs-manager"], actor=OPERATOR)
    cases = walk_week(db)
    yield db, cases
    db.dispose()


def levels(board: reports.Dashboard, element: str) -> dict[str, tuple[int, int, int, float | None]]:
    return {r.department: (r.met, r.late, r.missed, r.percent) for r in board.levels if r.element_id == element}


def test_a_week_of_complaints_gives_the_expected_service_levels(week) -> None:
    db, cases = week
    with clock.frozen(NOW):
        manager = services.actor_for(db, "manager")
        board = reports.dashboard(db, manager, "week")
        today = reports.dashboard(db, manager, "today")
    assert levels(board, "Task_PickUpTicket") == {"engineering": (4, 1, 0, 80.0), "cleaning": (2, 2, 1, 40.0)}
    assert levels(today, "Task_PickUpTicket") == {"engineering": (1, 0, 0, 100.0), "cleaning": (0, 0, 1, 0.0)}
    [case_row] = board.cases
    assert (case_row.process_name, case_row.cases_opened, case_row.cases_closed, case_row.cases_open) == \
        ("投诉处理", 10, 9, 1)  # case 9 waits on its pick-up; case 7's open 督办 ended with its work
    [today_cases] = today.cases
    assert (today_cases.cases_opened, today_cases.cases_closed, today_cases.cases_open) == (2, 1, 1)
    by_dept = {r.department: r for r in board.steps}
    # cleaning: three late pick-ups, and case 5's soft reaction at 11:19, after the 15 minutes from receipt
    assert by_dept["engineering"].escalated == 1 and by_dept["cleaning"].escalated == 4
    assert by_dept["cleaning"].overdue == 1 and by_dept["cleaning"].open == 1
    # the supervisor's 督办: four late pick-ups and six soft reactions or checks late from receipt
    assert by_dept["cs-supervisor"].opened == 10 and by_dept["cs-supervisor"].closed == 2
    pickups = {r.department: (r.closed, r.median_minutes, r.p90_minutes) for r in board.handling
               if r.element_id == "Task_PickUpTicket"}
    assert pickups == {"engineering": (5, 5.0, 30.0), "cleaning": (4, 15.0, 40.0)}  # minutes


def test_a_supervisor_sees_only_the_groups_they_lead(week) -> None:
    db, _ = week
    with clock.frozen(NOW):
        board = reports.dashboard(db, services.actor_for(db, "supervisor"), "week")
        with pytest.raises(Forbidden):
            reports.listing(db, services.actor_for(db, "supervisor"), Filter("opened", "week", department="cleaning"))
        with pytest.raises(Forbidden):
            reports.dashboard(db, services.actor_for(db, "engineer"), "week")
    assert {r.department for r in board.steps} == {"front-desk", "engineering"}
    assert levels(board, "Task_PickUpTicket") == {"engineering": (4, 1, 0, 80.0)}


def test_every_number_lists_its_cases(week) -> None:
    db, cases = week
    with clock.frozen(NOW):
        manager = services.actor_for(db, "manager")
        board = reports.dashboard(db, manager, "week")
        for row in board.steps:
            for metric in reports.STEP_METRICS:
                listed = reports.listing(db, manager, Filter(metric, "week", row.process_id, row.department))
                assert len(listed.items) == getattr(row, metric), (row.department, metric)
        for row in board.levels:
            for metric in reports.LEVEL_METRICS:
                listed = reports.listing(db, manager, Filter(metric, "week", row.process_id, row.department,
                                                             row.element_id, row.limit_id))
                assert len(listed.items) == getattr(row, metric), (row.step_name, metric)
        late = reports.listing(db, manager, Filter("missed", "week", "complaint_handling", "cleaning",
                                                   "Task_PickUpTicket", "Timer_PickUpOverdue"))
        escalated = reports.listing(db, manager, Filter("escalated", "week", "complaint_handling", "cleaning"))
    assert [item.instance_id for item in late.items] == [cases[9]]
    assert sorted((i.instance_id, i.acted_by) for i in escalated.items) == [
        (cases[1], "supervisor"), (cases[5], None), (cases[7], None), (cases[9], None)]


def test_rebuild_from_the_log_gives_the_same_facts(week) -> None:
    db, _ = week
    before = reports.facts_snapshot(db)
    assert reports.rebuild_facts(db, OPERATOR) > 0
    assert reports.facts_snapshot(db) == before
    assert len(before["case_fact"]) == 10


def test_report_rebuild_from_the_command_line(week) -> None:
    db, _ = week
    before = reports.facts_snapshot(db)
    env = {**os.environ, "BPMDESK_DATABASE_URL": db.url, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "report", "rebuild"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"report facts rebuilt from \d+ events\n", result.stdout)
    assert reports.facts_snapshot(db) == before


@pytest.mark.postgres
def test_facts_agree_with_the_log_on_every_database(db: Database) -> None:
    """A late pick-up escalated and acted on by the supervisor, folded and rebuilt alike."""
    walk = Clock(db, clock.parse_time(MONDAY))
    with clock.frozen(walk.now):
        walk.case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"),
                                            dict(COMPLAINT))
    walk.do("Task_ClassifyComplaint", "frontdesk", complaint_kind="hard", complaint_severity="general",
            validity="valid")
    walk.do("Task_DispatchToDepartment", "frontdesk", responsible_dept="security")
    walk.do("Task_PickUpTicket", "guard", minutes=16)
    walk.do("Task_EscalatePickUp", "supervisor", pickup_supervision="已催办")
    before = reports.facts_snapshot(db)
    with clock.frozen(walk.now):
        listed = reports.listing(db, OPERATOR, Filter("escalated", "month", department="security"))
    assert [(i.instance_id, i.acted_by) for i in listed.items] == [(walk.case, "supervisor")]
    reports.rebuild_facts(db, OPERATOR)
    assert reports.facts_snapshot(db) == before


@pytest.fixture(scope="module")
def app(week, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    db, _ = week
    return create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})


LINK = re.compile(r'<a class="num" href="(/reports/cases\?[^"]+)">(\d+)</a>')


def test_the_dashboard_page_shows_the_figures_and_every_number_lists_its_cases(app: Flask) -> None:
    manager = client_for(app, "manager")
    with clock.frozen(NOW):
        response = manager.get("/reports/?period=week")
        assert response.status_code == 200
        page = text(response)
        row = re.search(r'<tr data-step="Task_PickUpTicket" data-dept="cleaning">(.*?)</tr>', page, re.S).group(1)
        assert "责任部门取单签收" in row and "15分钟未取单" in row and "保洁" in row and "40.0%" in row
        assert 'id="chart-cases" role="img"' in page and "<title>3月6日 受理 2 件</title>" in page
        links = LINK.findall(page)
        assert len(links) > 40
        for href, number in links:
            listed = text(manager.get(href))
            assert re.search(rf'共 <span id="listed-count">{number}</span> 项', listed), href
            assert listed.count("<tr data-instance=") == int(number), href


def test_the_dashboard_is_only_for_those_who_lead_a_group(app: Flask) -> None:
    with clock.frozen(NOW):
        assert client_for(app, "engineer").get("/reports/").status_code == 403
        supervisor = text(client_for(app, "supervisor").get("/reports/?period=month"))
        assert 'data-dept="engineering"' in supervisor and 'data-dept="cleaning"' not in supervisor
        assert client_for(app, "supervisor").get("/reports/cases?metric=opened&dept=cleaning").status_code == 403
        assert client_for(app, "manager").get("/reports/cases?metric=nonsense").status_code == 400
        assert client_for(app, "manager").get("/reports/?period=year").status_code == 400


def bpmdesk(db: Database, *args: str, now: str = NOW) -> subprocess.CompletedProcess:
    env = {**os.environ, "BPMDESK_DATABASE_URL": db.url, "PYTHONPATH": str(ROOT), "BPMDESK_NOW": now}
    result = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", *args],
                            capture_output=True, text=True, env=env, timeout=120)
    assert "Traceback" not in result.stderr
    return result


def sheets_of(path: Path) -> dict[str, list[list[object]]]:
    """Each worksheet's rows below its title row, as openpyxl reads them back."""
    book = openpyxl.load_workbook(path)
    return {ws.title: [list(row) for row in ws.iter_rows(min_row=2, values_only=True)] for ws in book.worksheets}


def test_the_weekly_complaint_summary_as_xlsx(week, tmp_path: Path) -> None:
    db, _ = week
    out = tmp_path / "weekly.xlsx"
    result = bpmdesk(db, "report", "complaints-weekly", "--from", "2026-03-02", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("投诉情况周报（2026-03-02 至 2026-03-08）")
    sheets = sheets_of(out)
    summary = dict(tuple(row[:2]) for row in sheets["汇总"][1:] if row[0])
    assert {k: summary[k] for k in ("受理", "有效投诉", "一般投诉", "软性投诉（服务、态度、环境）", "已办结", "办理中",
                                    "有升级的案件")} == {"受理": 10, "有效投诉": 10, "一般投诉": 10,
                                                    "软性投诉（服务、态度、环境）": 10, "已办结": 9, "办理中": 1,
                                                    "有升级的案件": 5}
    departments = {row[0]: row[1:6] for row in sheets["各责任部门"][1:] if row[0] and row[1] is not None}
    assert departments == {"保洁": [5, 4, 1, 0, 4], "工程部": [5, 5, 0, 0, 1]}
    pickups = [row for row in sheets["服务时限"][1:] if row[1] == "责任部门取单签收"]
    assert sorted(row[3:] for row in pickups) == [["保洁", 5, 2, 2, 1, 40], ["工程部", 5, 4, 1, 0, 80]]
    [visits] = [row for row in sheets["满意度"][1:] if row[1] == "回访业户"]
    assert visits[2:] == ["业户满意度", 6, 2, 1, 9, 66.7]


def test_the_daily_follow_up_list_is_the_state_at_six(week, tmp_path: Path) -> None:
    db, cases = week
    out = tmp_path / "daily.json"
    assert bpmdesk(db, "report", "complaints-daily", "--from", "2026-03-06", "--format", "json", "-o", str(out),
                   now="2026-03-06T19:00:00+08:00").returncode == 0
    [sheet] = json.loads(out.read_text(encoding="utf-8"))["sheets"]
    rows = {row[0]: row for row in sheet["rows"]}
    assert list(rows) == [cases[8], cases[9]]
    assert rows[cases[8]][7:] == ["工程部", "已办结", "", "", 0]
    assert rows[cases[9]][7:] == ["保洁", "办理中", "责任部门取单签收、取单超时督办", "责任部门取单签收（15分钟未取单）、取单超时督办（主管未处理）", 1]


def test_the_daily_call_back_report_and_the_monthly_statistics(week, tmp_path: Path) -> None:
    db, cases = week
    out = tmp_path / "callbacks.csv"
    assert bpmdesk(db, "report", "callbacks-daily", "--from", "2026-03-05", "--format", "csv", "-o",
                   str(out)).returncode == 0
    lines = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert ["应回访（当日到期）", "2"] in lines and ["按时回访", "2"] in lines and ["按时回访率(%)", "100.0"] in lines
    listed = [int(line[0]) for line in lines if line and line[0].isdigit()]
    assert listed == [cases[4], cases[5], cases[6], cases[7]]
    month = tmp_path / "month.xlsx"
    assert bpmdesk(db, "report", "monthly", "--from", "2026-03-01", "-o", str(month)).returncode == 0
    assert sheets_of(month)["各流程案件"][1] == ["投诉处理", 10, 9, 0, 1]


def test_a_report_without_a_data_source_says_so(week, tmp_path: Path) -> None:
    db, _ = week
    result = bpmdesk(db, "report", "quality-daily", "-o", str(tmp_path / "q.xlsx"))
    assert result.returncode == 2 and "还没有数据来源" in result.stderr and not (tmp_path / "q.xlsx").exists()
    assert bpmdesk(db, "report", "complaints-weekly", "--from", "2026-03-09", "--to", "2026-03-02", "-o",
                   str(tmp_path / "w.xlsx")).returncode == 2
