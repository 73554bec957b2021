"""Sessions a user or an administrator can take back; one account per person, whatever the case
of its name; sign-in that tells nothing about which accounts exist."""
from __future__ import annotations

import re
import statistics
import time
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import services
from engine.errors import Conflict, TooManyAttempts
from engine.services import users
from engine.store import Database
from webui import create_app
from webui_site import prepared_database

COOKIE = "bpmdesk_session"


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('sessions') / 'bpmdesk.db'}",
                                 {"frontdesk", "engineer", "admin"})
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def app(site_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def signed_in(app: Flask, user: str, password: str = "demo") -> FlaskClient:
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": user, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of the client's session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def post(client: FlaskClient, path: str, data: dict | None = None):
    token = token_of(client.get("/").get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token})


def test_a_cookie_copied_before_sign_out_stops_working(app: Flask) -> None:
    client = signed_in(app, "frontdesk")
    copy = copy_of(app, client)
    assert copy.get("/").status_code == 200 and copy.get("/api/me").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert copy.get("/").status_code == 302
    assert copy.get("/api/me").status_code == 401


def test_a_password_change_ends_every_session_of_that_user(app: Flask, site_db: Database) -> None:
    client = signed_in(app, "engineer")
    copy = copy_of(app, client)
    admin = signed_in(app, "admin")
    assert post(admin, "/admin/users/engineer/password", {"password": "new-secret"}).status_code == 302
    assert client.get("/").status_code == 302 and copy.get("/").status_code == 302
    assert admin.get("/").status_code == 200  # other people stay signed in
    signed_in(app, "engineer", "new-secret")
    services.set_password(site_db, "engineer", "demo", actor=services.Actor.operator("test"))


def test_an_administrator_signs_a_user_out_everywhere(app: Flask) -> None:
    browsers = [signed_in(app, "frontdesk") for _ in range(2)]
    api = app.test_client()
    token = api.get("/api/csrf").get_json()["csrf_token"]
    assert api.post("/api/login", json={"username": "frontdesk", "password": "demo"},
                    headers={"X-CSRFToken": token}).status_code == 200
    admin = signed_in(app, "admin")
    response = post(admin, "/admin/users/frontdesk/sessions/revoke")
    assert response.status_code == 302
    assert "结束 3 个会话" in admin.get("/admin/users").get_data(as_text=True)
    assert [b.get("/").status_code for b in browsers] == [302, 302]
    assert api.get("/api/me").status_code == 401
    assert admin.get("/").status_code == 200


def test_user_names_are_one_account_whatever_their_case_or_width(site_db: Database) -> None:
    with pytest.raises(Conflict):
        services.add_user(site_db, "Frontdesk", ["front-desk"], "demo", actor=services.Actor.operator())
    with pytest.raises(Conflict):
        services.add_user(site_db, "ｆｒｏｎｔｄｅｓｋ", ["front-desk"], "demo", actor=services.Actor.operator())
    for typed in ("FrontDesk", " frontdesk ", "ＦＲＯＮＴＤＥＳＫ"):
        info = services.authenticate(site_db, typed, "demo")
        assert info is not None and info.name == "frontdesk", typed
    created = services.add_user(site_db, "Night.Shift", ["front-desk"], "demo", actor=services.Actor.operator())
    assert created.name == "night.shift" and services.get_user(site_db, "NIGHT.SHIFT") is not None


def test_sign_in_takes_as_long_and_locks_the_same_for_a_name_without_an_account(
        site_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMDESK_PASSWORD_HASH", "pbkdf2:sha256:150000")
    users._stand_in_hash.cache_clear()
    services.add_user(site_db, "slowhash", ["front-desk"], "right", actor=services.Actor.operator())

    def took(name: str) -> float:
        started = time.perf_counter()
        assert services.authenticate(site_db, name, "wrong") is None
        return time.perf_counter() - started

    known = statistics.median(took("slowhash") for _ in range(3))
    unknown = statistics.median(took("nobody-here") for _ in range(3))
    assert known > 0.02 and 0.5 < unknown / known < 2, (known, unknown)
    users._stand_in_hash.cache_clear()
    for _ in range(2):  # five failures in a row, on either name, lock it the same way
        took("slowhash"), took("nobody-here")
    for name in ("slowhash", "nobody-here"):
        with pytest.raises(TooManyAttempts):
            services.authenticate(site_db, name, "wrong")
