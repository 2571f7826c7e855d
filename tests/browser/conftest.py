"""Playwright against a live server in a thread, using Debian's chromium (never a downloaded browser)."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


@pytest.fixture(scope="session")
def live_server(app):
    """The test app served on a free loopback port for the whole session."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def site(live_server, app_ctx):
    """Base URL of the live server, with a clean database for this test."""
    return live_server


def ui_login(page, site: str, email: str, password: str) -> None:
    page.goto(f"{site}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("#login-form [type=submit]")


def open_menu(page, toggle: str, item: str) -> None:
    """Open the dropdown ``toggle`` until ``item`` shows. On a loaded machine a click can land before
    Bootstrap's script has bound the dropdown (the page is drawn, the script not yet run): wait for the
    page's scripts, and click the toggle again only while the menu stayed shut."""
    page.wait_for_load_state("load")
    for _ in range(5):
        page.click(toggle)
        try:
            page.locator(item).wait_for(state="visible", timeout=2000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the menu {toggle} never showed {item}")


def ui_logout(page) -> None:
    open_menu(page, "#user-menu", "#logout")
    page.click("#logout")
    page.wait_for_load_state()
