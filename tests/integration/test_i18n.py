"""Chinese by default, English on request; times in Asia/Shanghai. (Catalogue completeness: tests/unit/test_translations.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import render_template_string

from tests.catalogues import ensure_compiled


@pytest.fixture(scope="module", autouse=True)
def _catalogues():
    ensure_compiled()


def test_home_is_chinese_by_default_and_english_after_choosing(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "长春新区开放场景与创新资源对接平台" in page
    resp = client.get("/lang/en", headers={"Referer": "http://localhost/"})
    assert resp.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Changchun New Area Open Scenarios and Innovation Resources Platform" in page
    assert "长春新区开放场景与创新资源对接平台" not in page
    client.get("/lang/zh_Hans_CN")
    assert "长春新区开放场景与创新资源对接平台" in client.get("/").get_data(as_text=True)


def test_unknown_language_falls_back_to_chinese(client):
    client.get("/lang/xx")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_error_messages_follow_the_language(client):
    client.get("/lang/en")
    assert "This page does not exist." in client.get("/nowhere").get_data(as_text=True)
    resp = client.get("/api/v1/me?lang=en")
    assert resp.get_json()["error"]["message"] == "An API token is required."


def test_local_filter_shows_beijing_time(app_ctx):
    with app_ctx.test_request_context("/"):
        midnight_utc = dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)
        assert render_template_string("{{ t|local }}", t=midnight_utc) == "2026-01-01 08:00"
        late = dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)  # already 2027 in Changchun
        assert render_template_string("{{ t|local('yyyy-MM-dd HH:mm:ss') }}", t=late) == "2027-01-01 00:30:00"
        assert render_template_string("{{ t|local }}", t=None) == "—"

