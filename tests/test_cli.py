"""The `bpmdesk` command as an operator runs it: real processes, exit codes, stderr, no traceback."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BPMDESK = [sys.executable, "-c", "from engine.cli import main; main()"]


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "BPMDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "BPMDESK_NOW": "2026-11-23T09:00:00+08:00", "PYTHONPATH": str(ROOT)}

    def bpmdesk(*args: str, stdin: str | None = None, now: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([*BPMDESK, *args], cwd=tmp_path, capture_output=True, text=True,
                                input=stdin, env={**env, **({"BPMDESK_NOW": now} if now else {})},
                                timeout=60)
        assert "Traceback" not in result.stderr
        return result

    return bpmdesk


def test_operator_walks_a_complaint_from_the_command_line(run):
    assert run("init").returncode == 0
    assert run("init").returncode == 0  # idempotent
    deployed = run("deploy", str(ROOT / "processes"))
    assert deployed.returncode == 0 and "deployed complaint_handling v1" in deployed.stdout
    assert "unchanged complaint_handling v1" in run("deploy", str(ROOT / "processes")).stdout
    assert run("users", "add", "wang", "--groups", "front-desk", "--password-stdin", stdin="pw12\n").returncode == 0
    assert run("users", "add", "zhao", "--groups", "engineering").returncode == 0

    data = {"customer_name": "张三", "phone": "13800000000", "room": "3-201", "channel": "visit",
            "occurred_at": "2026-11-23 08:30", "place": "大堂", "description": "电梯故障",
            "read_back_confirmed": True}
    started = run("start", "complaint_handling", "--as", "wang", "--data", json.dumps(data, ensure_ascii=False))
    assert started.returncode == 0, started.stderr
    assert "note: clock fixed by BPMDESK_NOW" in started.stderr
    instance_id = started.stdout.strip()

    tasks = json.loads(run("tasks", "--as", "wang", "--json").stdout)
    assert [t["name"] for t in tasks] == ["投诉分类"]
    done = run("complete", tasks[0]["id"], "--as", "wang", "--data",
               '{"complaint_severity": "general", "complaint_kind": "soft", "validity": "valid"}')
    assert done.returncode == 0, done.stderr
    dispatch = json.loads(run("tasks", "--instance", instance_id, "--json").stdout)[0]
    assert run("complete", dispatch["id"], "--as", "wang", "--data", '{"responsible_dept": "engineering"}').returncode == 0

    pickup = json.loads(run("tasks", "--as", "zhao", "--json").stdout)[0]
    assert pickup["name"] == "责任部门取单签收"
    claimed = run("claim", pickup["id"], "--as", "zhao")
    assert claimed.returncode == 0 and "zhao" in claimed.stdout
    shown = json.loads(run("show", instance_id, "--json").stdout)
    assert shown["status"] == "running" and shown["timers"][0]["element_id"]
    assert shown["open_tasks"][0]["assignee"] == "zhao"
    assert "engineering" in run("show", instance_id).stdout


@pytest.mark.parametrize("args, message", [
    (("start", "no_such_process"), "未部署"),
    (("complete", "nope", "--as", "wang", "--data", "{not json"), "--data is not valid JSON"),
    (("complete", "nope", "--as", "wang", "--data", "[1]"), "must be a JSON object"),
    (("claim", "no-such-task", "--as", "wang"), "不存在"),
    (("deploy", "missing-folder"), "missing-folder: no such file or folder"),
])
def test_user_errors_exit_2_with_a_message(run, args, message):
    run("init")
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("note:") or result.stderr.startswith("error:")
    assert message in result.stderr


def test_a_hostile_diagram_is_refused_with_file_and_line(run, tmp_path):
    run("init")
    hostile = tmp_path / "hostile.bpmn"
    hostile.write_text('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
                       '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&e;</definitions>\n')
    result = run("deploy", str(hostile))
    assert result.returncode == 2
    assert f"error: {hostile}:2:" in result.stderr and "DOCTYPE" in result.stderr
    assert "root:" not in result.stdout + result.stderr
    assert run("definitions", "--json").stdout.strip() == "[]"


def test_a_malformed_clock_is_a_user_error(run):
    result = run("definitions", now="yesterday")
    assert result.returncode == 2 and "error:" in result.stderr


def test_groups_are_named_and_listed_and_users_only_join_groups_that_exist(tmp_path) -> None:
    from click.testing import CliRunner

    from engine.cli import main

    env = {"BPMDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"}
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    refused = runner.invoke(main, ["users", "add", "li", "--groups", "plumbing"], env=env)
    assert refused.exit_code == 2 and "没有这个组：plumbing" in refused.output
    named = runner.invoke(main, ["groups", "set", "plumbing", "水电班"], env=env)
    assert named.exit_code == 0 and "水电班" in named.output
    assert runner.invoke(main, ["users", "add", "li", "--groups", "plumbing"], env=env).exit_code == 0
    listed = runner.invoke(main, ["groups", "list"], env=env).output
    assert re.search(r"^plumbing +水电班 +cs-supervisor,cs-manager$", listed, re.M)
    assert re.search(r"^engineering +工程部 ", listed, re.M)


def test_tokens_for_programs_are_issued_listed_and_revoked(run):
    assert run("init").returncode == 0
    issued = run("tokens", "add", "billing-worker", "--groups", "worker")
    assert issued.returncode == 0 and issued.stdout.strip().startswith("bpd_")
    assert "shown once" in issued.stderr
    listed = run("tokens", "list")
    assert "billing-worker" in listed.stdout and issued.stdout.strip() not in listed.stdout  # never the secret
    assert run("users", "list", "--json").stdout.count("billing-worker") == 1
    refused = run("tokens", "add", "billing-worker", "--groups", "admin")
    assert refused.returncode == 2 and "users groups" in refused.stderr
    assert "revoked" in run("tokens", "revoke", "1").stdout
    assert json.loads(run("tokens", "list", "--json").stdout)[0]["revoked_at"]
    assert run("tokens", "revoke", "99").returncode == 2
