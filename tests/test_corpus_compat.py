"""The public conformance corpus: real Camunda Modeler files deploy, run, or are refused by name.

Rows come from shared/corpus/public/MANIFEST.tsv (see its README). `executable_in_python=yes` must
deploy through the service layer (with its callee files) and, without runtime needs, start and run
to a wait state or to the end;
`no` must be refused, or accepted with a warning or a note, naming the construct the `notes`
column names (this deployment translates JUEL the corpus counts as unsupported, and runs external
tasks for workers on /engine-rest, noting their topic).
"""
from __future__ import annotations

import ast
import csv
import os
import re
from pathlib import Path

import pytest
from engine import services
from engine.compat import Bundle, SourceFile, load_bundle
from engine.errors import DeployError

SHARED = Path(os.environ.get("BPMDESK_SHARED") or Path(__file__).resolve().parents[2] / "shared")
CORPUS = SHARED / "corpus" / "public"
if not (CORPUS / "MANIFEST.tsv").is_file():
    pytest.skip(f"no corpus at {CORPUS} (set BPMDESK_SHARED to the shared/ folder)", allow_module_level=True)

with open(CORPUS / "MANIFEST.tsv", encoding="utf-8") as manifest:
    ROWS = list(csv.DictReader(manifest, delimiter="\t"))

#: Reasons this deployment always refuses; `juel` is translated when it can be and `external-task`
#: runs for workers, so they are not here.
REFUSED_CATEGORIES = {"java", "connector", "script-language", "cron", "dmn",
                      "zeebe-job-worker", "feel", "zeebe-extension", "not-executable", "modeling-only"}
#: What the manifest counts as unsupported but runs here: a listener whose body is a `${…}`
#: expression (engine/listeners.py; the manifest files it under `java`).
RUNS_HERE = ("camunda:executionListener expression=", "camunda:taskListener expression=")
#: Element kinds the notes put before an id; not specific enough to be a needle themselves.
ELEMENT_KINDS = {"serviceTask", "scriptTask", "userTask", "businessRuleTask", "callActivity", "subProcess",
                 "conditionExpression", "timerEventDefinition", "timeCycle", "timeDuration", "timeDate",
                 "startEvent", "sendTask", "receiveTask", "camunda:outputParameter", "camunda:inputParameter",
                 "on", "decision"}


def requirements(row: dict) -> list[str]:
    return [part.split("=", 1)[1] for part in row["runtime_requires"].split("; ")
            if part.startswith("callee:") and "=" in part]


def deploy(row: dict) -> Bundle:
    names = [row["file"], *requirements(row)]
    return load_bundle([SourceFile(name, (CORPUS / name).read_bytes()) for name in names])


def reasons(notes: str) -> list[tuple[str, list[str]]]:
    """`NO because cat: detail | cat: detail; …` → [(category, words that name the culprit)]."""
    if not notes.startswith("NO because "):
        return []
    found = []
    for part in notes[len("NO because "):].split("; ")[0].split(" | "):
        category, _, detail = part.partition(": ")
        if detail.startswith(RUNS_HERE):
            continue
        found.append((category.strip(), needles(re.sub(r"\s*\((?:\+\d+ more|not [^)]*|needs [^)]*)\)", "",
                                                       detail))))
    return found


def needles(detail: str) -> list[str]:
    """Expressions, prefixed names, ids and attribute values: what a good message repeats."""
    words = re.findall(r"[$#]\{[^}]*\}", detail)
    rest = re.sub(r"[$#]\{[^}]*\}", " ", detail)
    words += [phrase for phrase in ('isExecutable="false"', "Quartz cron") if phrase in rest]
    tokens = rest.replace('isExecutable="false"', " ").split()
    for previous, token in zip(["", *tokens], tokens):
        for piece in (part.strip("\"'") for part in token.split("=")):
            specific = ":" in piece or re.search(r"[_\d./-]", piece) or re.match(r"[a-z]+[A-Z]", piece)
            if piece and piece not in ELEMENT_KINDS and (specific or previous in ELEMENT_KINDS
                                                         or "=" in token and token.endswith(piece)):
                words.append(piece)
    return list(dict.fromkeys(words))


def start_data(row: dict) -> dict:
    return {part.split(":", 1)[1]: [1, 2, 3] for part in row["runtime_requires"].split("; ")
            if part.startswith("input:")}


def runnable(row: dict) -> bool:
    return all(part.startswith("input:") for part in row["runtime_requires"].split("; ")) or \
        row["runtime_requires"] == "none"


YES = [pytest.param(row, id=row["file"]) for row in ROWS if row["executable_in_python"] == "yes"]
NO = [pytest.param(row, id=row["file"]) for row in ROWS if row["executable_in_python"] == "no"]
TIMER_STARTS = [pytest.param(row, id=row["file"]) for row in ROWS
                if row["executable_in_python"] == "yes" and "timer-start:" in row["runtime_requires"]]


@pytest.mark.parametrize("row", YES)
def test_executable_file_deploys_and_starts_through_the_product(row, empty_db):
    files = [SourceFile(name, (CORPUS / name).read_bytes()) for name in [row["file"], *requirements(row)]]
    report = services.deploy_files(empty_db, files, services.Actor.operator("corpus"))
    own = [p.process_id for p in report.processes if p.process_id in
           {pid for pid, b in deploy(row).processes.items() if b.bpmn.name == row["file"]}]
    assert own, f"no executable process of {row['file']} was deployed"
    silent = [c.line() for constructs in report.constructs.values() for c in constructs
              if c.verdict not in ("runs", "ignored")]
    assert silent == [], f"{row['file']} deployed constructs bpmdesk does not account for"
    if not runnable(row) or "timer-start:" in row["runtime_requires"]:
        return
    for process_id in own:
        view = services.show_instance(empty_db, services.start_instance(empty_db, process_id, services.Actor.operator(),
                                                                        start_data(row)), services.Actor.operator())
        assert view.status == "completed" or view.open_tasks or view.timers or view.active_elements, \
            f"{process_id} neither waits nor completes"


@pytest.mark.parametrize("row", TIMER_STARTS)
def test_timer_start_is_registered_for_the_scheduler(row):
    written = next(part.split(":", 1)[1] for part in row["runtime_requires"].split("; ")
                   if part.startswith("timer-start:"))
    expected = ast.literal_eval(written) if written[:1] in "\"'" else written
    timers = [p.timer_start for p in deploy(row).processes.values() if p.timer_start]
    assert [ast.literal_eval(timer) for timer in timers] == [expected]


@pytest.mark.parametrize("row", NO)
def test_unsupported_file_is_refused_or_warned_naming_the_construct(row):
    try:
        bundle = deploy(row)
        text, refused = "\n".join(bundle.warnings + bundle.translations), False
    except DeployError as error:
        text, refused = "\n".join(error.problems), True
    found = reasons(row["notes"])
    assert any(needle.lower() in text.lower() for _, words in found for needle in words), text
    required = [(c, words) for c, words in found if c == "not-executable"] or [
        (c, words) for c, words in found if c in REFUSED_CATEGORIES]
    if required:
        assert refused, f"{row['file']} was accepted although it uses {[c for c, _ in required]}"
    for category, words in required:
        assert any(needle.lower() in text.lower() for needle in words), (category, words, text)
