"""Tiny Camunda Modeler diagrams and a CLI runner for the Camunda 7 semantics tests."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BPMDESK = [sys.executable, "-c", "from engine.cli import main; main()"]
NAMESPACES = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
              'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
              'xmlns:tns="http://example.com/c7"')


def definitions(body: str) -> bytes:
    """A BPMN file (target namespace bound to the `tns` prefix) around `body`."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NAMESPACES} id="defs" '
            f'targetNamespace="http://example.com/c7">\n{body}\n</bpmn:definitions>\n').encode()


def process(pid: str, *nodes: str, extra: str = "", attributes: str = "") -> str:
    """start → nodes… → end, wired in order with flows `f0…`; `extra` goes into the process as is."""
    ids = ["start", *(_id_of(node) for node in nodes), "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="{pid}_f{i}" sourceRef="{a}" targetRef="{b}"/>\n'
                    for i, (a, b) in enumerate(zip(ids, ids[1:])))
    body = "\n".join(nodes)
    return (f'<bpmn:process id="{pid}" isExecutable="true" {attributes}>\n<bpmn:startEvent id="start"/>\n'
            f'{body}\n<bpmn:endEvent id="end"/>\n{flows}{extra}</bpmn:process>')


def user_task(element_id: str, name: str, attributes: str = 'camunda:assignee="demo"', inner: str = "") -> str:
    return f'<bpmn:userTask id="{element_id}" name="{name}" {attributes}>{inner}</bpmn:userTask>'


def _id_of(node: str) -> str:
    return node.split('id="', 1)[1].split('"', 1)[0]


def cli(tmp_path: Path):
    """`bpmdesk …` in a subprocess on a database of its own; asserts no traceback ever shows."""
    env = {**os.environ, "BPMDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "BPMDESK_NOW": "2026-11-23T09:00:00+08:00", "PYTHONPATH": str(ROOT)}

    def bpmdesk(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([*BPMDESK, *args], cwd=tmp_path, capture_output=True, text=True, env=env,
                                timeout=60)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
        return result

    assert bpmdesk("init").returncode == 0
    return bpmdesk
