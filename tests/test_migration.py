"""Moving open cases to a new version: dry run (safe / unsafe and why, new due times), mapping of
removed elements, each case its own unit of work, recorded, replayed, and migrated back."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import clock, services
from engine.errors import Conflict
from engine.services import deploy as deploy_service
from engine.services import migration
from engine.store import Database
from migration_site import deploy, version

T0 = "2026-03-02T09:00:00+08:00"


def start(db: Database, at_second: bool = False) -> int:
    frontdesk = services.actor_for(db, "frontdesk")
    instance_id = services.start_instance(db, "mig", frontdesk, {})
    if at_second:
        complete(db, instance_id, "A", {"x": "好"})
    return instance_id


def open_task(db: Database, instance_id: int, element: str):
    items = services.list_tasks(db, services.Actor.operator(), instance_id=instance_id, scope="open").items
    return next((t for t in items if t.element_id == element), None)


def complete(db: Database, instance_id: int, element: str, data: dict) -> None:
    task = open_task(db, instance_id, element)
    assert task is not None, f"{element} is not open in case {instance_id}"
    services.complete(db, task.id, services.actor_for(db, "frontdesk"), data)


@pytest.fixture
def versions(db: Database):
    with clock.frozen(T0):
        v1 = deploy(db, version())
        at_a = [start(db) for _ in range(3)]
        at_b = [start(db, at_second=True) for _ in range(2)]
        v2 = deploy(db, version(name_a="受理登记", timer="PT3H", second="C", second_name="电话回访"))
    return v1, v2, at_a, at_b


def analyst(db: Database) -> services.Actor:
    services.add_user(db, "ana", ["analyst"], "demo", "分析员", actor=services.Actor.operator("test"))
    return services.actor_for(db, "ana")


def test_dry_run_says_per_case_what_happens_and_changes_nothing(db: Database, versions) -> None:
    v1, v2, at_a, at_b = versions
    with clock.frozen(T0):
        checks = {c.instance_id: c for c in migration.dry_run(db, v1, v2, {}, analyst(db))}
    assert set(checks) == set(at_a + at_b)
    for instance_id in at_a:
        assert checks[instance_id].safe and any("新的到期时间 2026-03-02 12:00" in n for n in checks[instance_id].notes)
    for instance_id in at_b:
        assert not checks[instance_id].safe and "已删除" in checks[instance_id].reasons[0]
    assert all(v.open_cases == 5 for v in _versions(db) if v.id == v1)


def test_safe_cases_move_keep_their_clock_and_continue_on_the_new_version(db: Database, versions) -> None:
    v1, v2, at_a, at_b = versions
    ana = analyst(db)
    with clock.frozen(clock.parse_time(T0) + timedelta(minutes=30)):
        run = migration.migrate_cases(db, v1, v2, {}, ana)
    assert sorted(run.migrated) == sorted(at_a) and sorted(c.instance_id for c in run.unsafe) == sorted(at_b)
    assert run.remaining == len(at_b)
    case = services.show_instance(db, at_a[0], services.Actor.operator())
    assert case.version == 2
    assert [t.due_at for t in case.timers] == [clock.parse_time("2026-03-02T12:00:00+08:00")]  # began 09:00, now 3 h
    assert open_task(db, at_a[0], "A").name == "受理登记"  # the inbox shows the new version's name
    with clock.frozen(clock.parse_time(T0) + timedelta(hours=1)):
        complete(db, at_a[0], "A", {"x": "好"})
    assert open_task(db, at_a[0], "C") is not None  # the new version's path
    _assert_replay_agrees(db, at_a[0])


def test_a_removed_element_is_mapped_to_its_successor(db: Database, versions) -> None:
    v1, v2, _, at_b = versions
    ana = analyst(db)
    with clock.frozen(T0):
        checks = migration.dry_run(db, v1, v2, {"B": "C"}, ana)
        assert all(c.safe for c in checks)
        run = migration.migrate_cases(db, v1, v2, {"B": "C"}, ana, batch=1)
        assert len(run.migrated) == 1 and run.remaining == 4  # batches: run again to continue
        run = migration.migrate_cases(db, v1, v2, {"B": "C"}, ana)
    assert run.remaining == 0
    task = open_task(db, at_b[0], "C")
    assert task is not None and task.name == "电话回访"
    with clock.frozen(T0):
        complete(db, at_b[0], "C", {})
    assert services.show_instance(db, at_b[0], services.Actor.operator()).status == "completed"
    _assert_replay_agrees(db, at_b[0])
    _assert_replay_agrees(db, at_b[1])


def test_a_case_moves_back_while_nothing_else_happened(db: Database, versions) -> None:
    v1, v2, at_a, _ = versions
    ana = analyst(db)
    with clock.frozen(T0):
        migration.migrate_cases(db, v1, v2, {}, ana, only=at_a[:2])
        migration.migrate_back(db, at_a[0], ana)
        complete(db, at_a[1], "A", {"x": "好"})
        with pytest.raises(Conflict):
            migration.migrate_back(db, at_a[1], ana)
    back = services.show_instance(db, at_a[0], services.Actor.operator())
    assert back.version == 1 and [t.due_at for t in back.timers] == [clock.parse_time("2026-03-02T10:00:00+08:00")]
    assert open_task(db, at_a[0], "A").name == "受理"
    _assert_replay_agrees(db, at_a[0])
    _assert_replay_agrees(db, at_a[1])


def test_a_form_the_case_waits_on_that_changed_type_is_unsafe(db: Database) -> None:
    with clock.frozen(T0):
        v1 = deploy(db, version())
        start(db)
        v2 = deploy(db, version(x_type="long"))
        [check] = migration.dry_run(db, v1, v2, {}, analyst(db))
    assert not check.safe and "x" in check.reasons[0] and "类型" in check.reasons[0]


def test_only_analysts_migrate(db: Database, versions) -> None:
    v1, v2, _, _ = versions
    from engine.errors import Forbidden
    with pytest.raises(Forbidden):
        migration.migrate_cases(db, v1, v2, {}, services.actor_for(db, "frontdesk"))


def _assert_replay_agrees(db: Database, instance_id: int) -> None:
    result = services.replay(db, instance_id, services.Actor.operator())
    assert result.agrees, result.divergence
    assert services.verify_history(db, services.Actor.operator()).ok


def _versions(db: Database):
    return [v for p in deploy_service.process_catalogue(db, services.Actor.operator()) if p.process_id == "mig"
            for v in p.versions]


def test_an_analyst_dry_runs_maps_migrates_in_batches_and_moves_one_back_on_the_pages(
        db: Database, versions, tmp_path) -> None:
    import html
    import re
    from webui import create_app
    v1, v2, at_a, at_b = versions
    app = create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path, "TESTING": True})
    client = app.test_client()
    token = lambda page: re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # noqa: E731
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": "analyst", "password": "demo", "csrf_token": token(login)})
    with clock.frozen(T0):
        page = html.unescape(client.get(f"/analyst/versions/{v1}/migrate?to={v2}").get_data(as_text=True))
        assert re.search(r'id="safe-count">3<', page) and re.search(r'id="unsafe-count">2<', page)
        assert "「回访」(B) 在新版本中已删除" in page and 'name="map.B"' in page
        page = client.get(f"/analyst/versions/{v1}/migrate?to={v2}&map.B=C").get_data(as_text=True)
        assert re.search(r'id="safe-count">5<', page)
        form = {"csrf_token": token(page), "to": str(v2), "map.B": "C", "batch": "2"}
        client.post(f"/analyst/versions/{v1}/migrate", data=form)
        page = html.unescape(client.get(f"/analyst/versions/{v1}/migrate?to={v2}&map.B=C").get_data(as_text=True))
        assert "已迁移 2 件" in page and "旧版本上还有 3 件" in page
        client.post(f"/analyst/versions/{v1}/migrate", data={**form, "batch": "100"})
        case_page = client.get(f"/cases/{at_b[0]}").get_data(as_text=True)
        assert 'id="migrate-back"' in case_page and "迁移到流程新版本" in case_page
        client.post(f"/analyst/cases/{at_b[0]}/migrate-back", data={"csrf_token": token(case_page)})
    assert services.show_instance(db, at_b[0], services.Actor.operator()).version == 1
    assert open_task(db, at_b[0], "B") is not None
    assert {services.show_instance(db, i, services.Actor.operator()).version for i in at_a + at_b[1:]} == {2}
