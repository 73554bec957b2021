"""SIGTERM stops a server or a scheduler within a few seconds, even while a firing spins."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from engine import compat, services
from engine.store import Database

ROOT = Path(__file__).resolve().parents[1]
SPIN_AFTER_A_SECOND = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="spin_later" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="Soon"><bpmn:timerEventDefinition>
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="Spin"><bpmn:timerEventDefinition>
      <bpmn:timeCycle xsi:type="bpmn:tFormalExpression">${cycle}</bpmn:timeCycle>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Soon"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Soon" targetRef="Spin"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Spin" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("command", ["serve", "scheduler"])
def test_sigterm_stops_within_seconds_while_a_firing_spins(empty_db: Database, tmp_path: Path, command: str) -> None:
    services.deploy_files(empty_db, [compat.SourceFile("spin.bpmn", SPIN_AFTER_A_SECOND.encode())], services.Actor.operator("test"))
    port = free_port()
    args = ["serve", "--port", str(port), "--workers", "1"] if command == "serve" else ["scheduler", "--poll", "0.2"]
    env = {**os.environ, "BPMDESK_DATABASE_URL": empty_db.url, "PYTHONPATH": str(ROOT),
           "BPMDESK_STEP_SECONDS": "60", "BPMDESK_SHUTDOWN_SECONDS": "2"}
    env.pop("BPMDESK_NOW", None)
    process = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", *args], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        ready = (lambda: answers(f"http://127.0.0.1:{port}/login")) if command == "serve" else (lambda: True)
        while not ready():
            assert time.monotonic() < deadline and process.poll() is None, "the server did not come up"
            time.sleep(0.1)
        services.start_instance(empty_db, "spin_later", services.Actor.operator(), {"cycle": "R/PT0S"})
        time.sleep(3)  # the first timer is due after 1 s: its firing now spins
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        took = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert took < 6, f"{command} took {took:.1f} s to stop"
    view = services.search_cases(empty_db, services.CaseQuery(), services.Actor.operator()).items[0]
    assert view.status == "running"  # the spinning firing was rolled back: the case still waits


def test_an_idle_server_stops_at_once_on_sigterm(db: Database, tmp_path: Path) -> None:
    """Nothing is running, so nothing is waited for: the workers and gunicorn's master end without a
    last garbage collection of their heaps, which took longer than the shutdown time (8 s to stop
    with 3 workers under load, the workers killed by gunicorn at the end)."""
    port = free_port()
    env = {**os.environ, "BPMDESK_DATABASE_URL": db.url, "PYTHONPATH": str(ROOT), "BPMDESK_SHUTDOWN_SECONDS": "10"}
    process = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "serve", "--port",
                                str(port), "--workers", "2"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not answers(f"http://127.0.0.1:{port}/login"):
            assert time.monotonic() < deadline and process.poll() is None, "the server did not come up"
            time.sleep(0.1)
        for _ in range(4):  # both workers have built their app and served
            assert answers(f"http://127.0.0.1:{port}/login")
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        took = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert took < 3, f"an idle server took {took:.1f} s to stop"
    assert process.returncode == 0, output[-2000:]
