"""Every route of the web app, walked with hostile input: no answer is a 500 and none shows a traceback.

The routes come from the app's own ``url_map``, so a route added later is walked too. Each is called
as an anonymous visitor, as a member of staff and as an operator (administrator, auditor, analyst
and worker at once, so every check is passed and the route's own parsing is reached), with hostile
values in the path, in every query argument and in every field of a JSON or form body that any
route of ``webui/`` reads (collected from the source, so new arguments are covered without a list
here), with bodies of the wrong content type, malformed JSON and methods a route does not take.

The walk is deterministic (no randomness): the same requests every run, about 9,000 of them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from engine import services
from engine.demo import DEMO_PASSWORD
from engine.services import external
from engine.store import Database
from webui import create_app
from webui_site import prepared_database

WEBUI = Path(__file__).resolve().parents[1] / "webui"
STAFF, OPERATOR = "frontdesk", "operator"
OPERATOR_GROUPS = ["admin", "auditor", "analyst", "worker", "cs-supervisor"]

# Text a user could type or a program could send: digits Python's isdigit() accepts and int() does
# not (or does), numbers beyond every integer column, nothing, path tricks, NUL, very long text.
HOSTILE_TEXT = ["²", "٣", "9" * 40, "-" + "9" * 25, "1e309", "", "../", "a\x00b", "長" * 11_000, "<b>x</b>"]
# Raw percent-escapes a browser never sends but a program can: invalid UTF-8, a lone surrogate.
RAW_ESCAPES = ["%FF%FE", "%ED%A0%80"]
# JSON values of every shape where a route expects one shape.
HOSTILE_JSON: list[Any] = ["²", "9" * 40, "a\x00b", 10**30, 2**63, 1e308, True, None, [], {"a": {"b": [1]}},
                           {"type": "Long", "value": "²"}, [{"topicName": "²", "lockDuration": 10**30}]]
WRONG_BODIES = [("text/plain", b'{"a": 1}'), ("application/xml", b"<a>1</a>"), ("application/json", b"{"),
                ("application/json", b"[1, 2]"), ("application/x-www-form-urlencoded", b"a=%FF&%00=1"),
                ("multipart/form-data; boundary=x", b"--x\r\nbroken")]
LONG = 1000  # text this long is left out of addresses (a server refuses a request line over 4 KB)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def argument_names() -> list[str]:
    """Every name a route of webui/ reads from a query, form or JSON body, as written in the source."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in WEBUI.rglob("*.py"))
    return sorted(set(re.findall(r"""(?:\.get|getlist|int_arg|_number|\[)\(?\s*(?:\w+,\s*)?["']([A-Za-z_][\w-]*)["']""",
                                 source)))


NAMES = argument_names()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Flask]]:
    database = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'bpmdesk.db'}", {STAFF})
    services.add_user(database, OPERATOR, OPERATOR_GROUPS, DEMO_PASSWORD, "值班操作员",
                      actor=services.Actor.operator("test"))
    services.start_instance(database, "complaint_handling", services.actor_for(database, STAFF),
                            {"customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
                             "occurred_at": "今天上午", "place": "3号楼电梯", "description": "电梯异响",
                             "read_back_confirmed": True})
    app = create_app({"DATABASE_URL": database.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})
    yield database, app
    database.dispose()


@pytest.fixture(scope="module")
def clients(site: tuple[Database, Flask]) -> dict[str, tuple[FlaskClient, dict[str, str]]]:
    """(client, headers) per kind of user; a session's headers carry its CSRF token."""
    _, app = site
    signed: dict[str, tuple[FlaskClient, dict[str, str]]] = {"anonymous": (app.test_client(), {})}
    for name in (STAFF, OPERATOR):
        client = app.test_client()
        token = client.get("/api/csrf").get_json()["csrf_token"]
        answer = client.post("/api/login", json={"username": name, "password": DEMO_PASSWORD},
                             headers={"X-CSRFToken": token})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        signed[name] = (client, {"X-CSRFToken": answer.get_json()["csrf_token"]})
    return signed


def paths(rule: Rule) -> list[str]:
    """The rule's address with each hostile value in every one of its variable parts."""
    if not rule.arguments:
        return [rule.rule]
    values = [quote(text, safe="") for text in HOSTILE_TEXT if 0 < len(text) < LONG] + ["x" * 300] + RAW_ESCAPES + ["..", "%2E%2E%2F"]
    return [re.sub(r"<[^>]+>", value, rule.rule) for value in values]


def fields(value: Any, rule: Rule) -> dict[str, Any]:
    """Every argument name set to ``value``; very long text only in a twentieth of them (a different
    twentieth per route), so that the body stays under the request limit and a field's own limit
    is what answers."""
    if isinstance(value, str) and len(value) >= LONG:
        return {name: value for name in NAMES[len(rule.rule) % 20::20]}
    return {name: value for name in NAMES}


def requests_for(rule: Rule) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, address, test-client keywords) of every hostile request to one rule."""
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    first = paths(rule)[0]
    for path in paths(rule):
        for method in methods:
            yield method, path, {}
    for value in [quote(text, safe="") for text in HOSTILE_TEXT if len(text) < LONG] + RAW_ESCAPES:
        for method in methods:
            yield method, f"{first}?" + "&".join(f"{name}={value}" for name in NAMES), {}
    for method in sorted(set(methods) - {"GET"}):
        for value in HOSTILE_JSON:
            yield method, first, {"data": json.dumps(fields(value, rule)), "content_type": "application/json"}
        for text in HOSTILE_TEXT:
            yield method, first, {"data": fields(text, rule)}
        for content_type, raw in WRONG_BODIES:
            yield method, first, {"data": raw, "content_type": content_type}
    yield next(method for method in METHODS if method not in methods), first, {}


def answered_plainly(response: Any) -> str | None:
    """What is wrong with an answer, or None: a 5xx, or a traceback shown to the user."""
    text = response.get_data(as_text=True)
    if response.status_code >= 500:
        return f"{response.status_code}: {text[:300]}"
    if "Traceback" in text or re.search(r'File "[^"]+\.py", line \d+', text):
        return f"traceback in a {response.status_code}: {text[:300]}"
    return None


@pytest.fixture(scope="module", autouse=True)
def no_long_polls() -> Iterator[None]:
    """A worker's fetch may wait for tasks up to Camunda's 30 minutes; here it answers at once."""
    most = external.MAX_WAIT_SECONDS
    external.MAX_WAIT_SECONDS = 0.0
    yield
    external.MAX_WAIT_SECONDS = most


def test_the_walk_reaches_every_route_and_many_argument_names(site: tuple[Database, Flask]) -> None:
    _, app = site
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert len(rules) >= 70 and {"page", "processInstanceId", "firstResult", "asyncResponseTimeout"} <= set(NAMES)
    assert sum(1 for rule in rules for _ in requests_for(rule)) < 12_000


@pytest.mark.parametrize("user", ["anonymous", STAFF, OPERATOR])
def test_no_route_answers_hostile_input_with_a_500(site: tuple[Database, Flask], clients, user: str) -> None:
    _, app = site
    client, headers = clients[user]
    failures: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.rule.endswith("/logout"):
            continue  # static files have their own tests; signing out would end the walk's session
        for method, address, keywords in requests_for(rule):
            response = client.open(address, method=method, headers=headers, **keywords)
            problem = answered_plainly(response)
            if problem and len(failures) < 40:
                failures.append(f"{method} {address[:120]} {str(keywords)[:80]} -> {problem}")
    assert not failures, "\n".join(failures)
