"""Browser tests: the real app in a thread, driven by Playwright on Debian's chromium.

Never ``playwright install``: the browser is ``/usr/bin/chromium`` (apt package ``chromium``, with
``fonts-wqy-microhei`` so Chinese is readable in screenshots). Without it, or without
pytest-playwright, every test here is skipped with the reason. The server shares this process, so
``engine.clock.frozen`` moves the server's clock too.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

from engine.store import Database
from webui import create_app
from webui_site import prepared_database

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _skip_reason(config: pytest.Config) -> str | None:
    if not config.pluginmanager.has_plugin("playwright"):
        return "the pytest-playwright plugin is not installed or not enabled (pip install pytest-playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-wqy-microhei)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _skip_reason(config)
    for item in items:
        if HERE in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM),
            "args": ["--disable-gpu", "--disable-quic",
                     "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """An office PC: a 1366-wide screen, Chinese locale, Beijing time."""
    return {**browser_context_args, "viewport": {"width": 1366, "height": 900}, "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai"}


@pytest.fixture(scope="session")
def web_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'bpmdesk.db'}",
                           {"frontdesk", "engineer", "cleaner"})
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def base_url(web_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Overrides the plugin's base_url, so ``page.goto("/")`` reaches the app on a free port."""
    app = create_app({"DATABASE_URL": web_db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "LIVE_SECONDS": 1})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go: ``BPMDESK_SCREENSHOTS`` (e.g. docs/screenshots) or test-results/."""
    folder = Path(os.environ.get("BPMDESK_SCREENSHOTS") or ROOT / "test-results" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
