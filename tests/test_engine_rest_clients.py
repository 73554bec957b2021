"""Camunda's own external-task clients (Python from PyPI, Node.js from npm) against a real bpmdesk
web server on 127.0.0.1: they fetch, complete with variables, report failures until an incident,
and throw a BPMN error that the diagram's boundary event catches."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest
from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker
from werkzeug.serving import make_server

from engine import services
from engine.services import Actor
from engine.services import external, tokens
from webui import create_app

OP = Actor.operator()
ROOT = Path(__file__).resolve().parents[1]
PAYMENT = ROOT / "tests" / "data" / "engine_rest" / "payment.bpmn"
JS = ROOT / "tests" / "js"


@pytest.fixture
def server(empty_db, tmp_path: Path) -> Iterator[tuple[str, object]]:
    """``bpmdesk``'s web app served by werkzeug's threaded server on a free port."""
    app = create_app({"DATABASE_URL": empty_db.url, "VAR_DIR": tmp_path, "SECRET_KEY": "test"})
    db = app.extensions["bpmdesk.db"]
    services.deploy_paths(db, [PAYMENT], OP)
    services.add_user(db, "js-worker", ["worker"], password="js-secret", actor=OP)
    services.add_user(db, "clerk", ["front-desk"], password="clerk-secret", actor=OP)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}/engine-rest", db
    finally:
        http.shutdown()
        db.dispose()


def _open(db, instance_id: int) -> list[str]:
    return [t.element_id for t in services.show_instance(db, instance_id, OP).open_tasks]


def _events(db, instance_id: int) -> list[str]:
    return [e.type for e in services.history(db, instance_id, OP)]


def test_python_worker_completes_fails_into_an_incident_and_throws_a_caught_bpmn_error(server):
    url, db = server
    token = tokens.issue_token(db, "py-worker", ["worker"], actor=OP).secret
    paid = services.start_instance(db, "refund_payment", OP, {"amount": 1})
    offline = services.start_instance(db, "refund_payment", OP, {"amount": 2})
    declined = services.start_instance(db, "refund_payment", OP, {"amount": 3})
    seen: list[int] = []

    def handle(task: ExternalTask) -> TaskResult:
        amount = task.get_variable("amount")
        seen.append(amount)
        if amount == 1:
            return task.complete({"bank_ref": "PY-REF-1", "fee": 2.5})
        if amount == 2:
            return task.failure("bank offline", "connection refused", max_retries=1, retry_timeout=0)
        return task.bpmn_error("CARD_DECLINED", "card declined", {"reason": "expired"})

    worker = ExternalTaskWorker("py-worker-1", url, {"auth_bearer": {"access_token": token}, "maxTasks": 1,
                                                     "lockDuration": 10000, "asyncResponseTimeout": 1000,
                                                     "sleepSeconds": 0, "usePriority": True})
    for _ in range(4):  # three cases; the failing one is fetched twice (one retry, then no retries left)
        worker.fetch_and_execute("refund-pay", handle)
    assert sorted(seen) == [1, 2, 2, 3]

    assert _open(db, paid) == ["Task_Confirm"]
    assert services.show_instance(db, paid, OP).data["bank_ref"] == "PY-REF-1"
    assert _open(db, declined) == ["Task_CallCustomer"]  # the boundary event's path
    assert services.show_instance(db, declined, OP).data["reason"] == "expired"
    [incident] = external.list_external_tasks(db, OP, incidents_only=True)
    assert (incident.instance_id, incident.retries, incident.error_message) == (offline, 0, "bank offline")
    assert _events(db, offline).count("external_task_failed") == 2 and "external_task_incident" in _events(db, offline)
    assert [e.actor for e in services.history(db, paid, OP) if e.type == "external_task_completed"] == ["py-worker"]
    for case in (paid, offline, declined):
        assert services.replay(db, case, OP).agrees


@pytest.mark.skipif(shutil.which("node") is None or not (JS / "node_modules").is_dir(),
                    reason="Node.js or tests/js/node_modules missing (make .venv/.installed-test installs it)")
def test_node_worker_completes_fails_and_throws_a_caught_bpmn_error(server):
    url, db = server
    paid = services.start_instance(db, "refund_payment", OP, {"amount": 1})
    offline = services.start_instance(db, "refund_payment", OP, {"amount": 2})
    declined = services.start_instance(db, "refund_payment", OP, {"amount": 3})
    run = subprocess.run(["node", str(JS / "worker.mjs"), url, "js-worker", "js-secret", "3"],
                         capture_output=True, text=True, timeout=60, cwd=JS)
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(item["amount"] for item in json.loads(run.stdout.strip().splitlines()[-1])) == [1, 2, 3]

    assert _open(db, paid) == ["Task_Confirm"]
    data = services.show_instance(db, paid, OP).data
    assert (data["bank_ref"], data["fee"]) == ("JS-REF-1", 2.5)
    assert _open(db, declined) == ["Task_CallCustomer"]
    assert [(i.instance_id, i.error_message) for i in external.list_external_tasks(db, OP, incidents_only=True)] == [
        (offline, "bank offline")]
    assert [e.actor for e in services.history(db, declined, OP) if e.type == "external_task_bpmn_error"] == ["js-worker"]
