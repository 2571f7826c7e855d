"""Descriptions are rendered once when saved and shown from the stored HTML (issue 8, item 1)."""

from __future__ import annotations

import io
import json

import pytest
from flask_babel import force_locale
from markdown_it import MarkdownIt
from sqlalchemy import select

from market.errors import ImportErrors
from market.extensions import db
from market.imports import read_rows
from market.listings import importer, markup, services
from models.listings import Listing
from tests.listings_support import INSTRUMENT, people, published_instrument

PATHOLOGICAL = "[" * 20000


def test_every_save_path_stores_the_rendered_html(make_org, make_user):
    p = people(make_org, make_user)
    listing = services.create(p["staff"], "instrument", {**INSTRUMENT, "description": "**粗体** <script>x()</script>"})
    assert listing.description_html == "<p><strong>粗体</strong> </p>\n"
    services.edit(p["staff"], listing, {**INSTRUMENT, "description": "## 参数"})
    assert listing.description_html == "<h2>参数</h2>\n"
    services.submit(p["staff"], listing)
    services.review(p["reviewer"], listing, "publish")
    # an edit to a published listing: the revision keeps its own HTML; the live one stays
    revision = services.edit(p["staff"], listing, {**INSTRUMENT, "description": "- 新的"})
    assert revision.description_html == "<ul>\n<li>新的</li>\n</ul>\n" and listing.description_html == "<h2>参数</h2>\n"
    services.review(p["reviewer"], listing, "publish")
    assert listing.description_html == "<ul>\n<li>新的</li>\n</ul>\n"


def test_import_stores_html_and_refuses_pathological_markup(make_org):
    make_org(kind="university", ref="U1")
    row = {"ref": "H01", "kind": "instrument", "owner": "U1", "title": "电镜", "description": "*斜体*"}
    importer.import_rows("cli", read_rows(json.dumps(row).encode(), "a.jsonl"), publish=True)
    listing = db.session.execute(select(Listing)).scalar_one()
    assert listing.description_html == "<p><em>斜体</em></p>\n"
    bad = {**row, "description": PATHOLOGICAL}
    with pytest.raises(ImportErrors) as err:
        importer.import_rows("cli", read_rows(json.dumps(bad).encode(), "a.jsonl"))
    assert "line 1: description: 描述中的标记嵌套过深" in str(err.value.message)


def test_form_refuses_pathological_markup_with_a_clear_message(client, login, make_org, make_user):
    p = people(make_org, make_user)
    login(p["staff"])
    resp = client.post("/listings/new/instrument", data={**INSTRUMENT, "description": PATHOLOGICAL})
    assert resp.status_code == 200 and "描述中的标记嵌套过深" in resp.get_data(as_text=True)
    assert db.session.execute(select(Listing)).first() is None


def test_refusal_is_translated(app):
    with app.test_request_context(), force_locale("en"), pytest.raises(markup.MarkupTooComplex) as err:
        markup.check(PATHOLOGICAL)
    assert "nested too deeply" in err.value.message


def test_pages_showing_a_listing_do_not_render_markdown(client, login, make_org, make_user, monkeypatch):
    p = people(make_org, make_user)
    listing = published_instrument(p, {**INSTRUMENT, "description": "**存储的** 描述"})
    services.edit(p["staff"], listing, {**INSTRUMENT, "description": "*修订的* 描述"})
    db.session.commit()

    def refuse(*_a, **_k):
        raise AssertionError("user markup rendered during a request")

    monkeypatch.setattr(markup, "render", refuse)
    monkeypatch.setattr(markup, "render_markdown", refuse)
    monkeypatch.setattr(MarkdownIt, "render", refuse)
    for url in ("/", "/listings/", f"/listings/{listing.ref}", f"/api/v1/listings/{listing.ref}", "/search/?q=电镜"):
        resp = client.get(url)
        assert resp.status_code == 200, url
    body = client.get(f"/listings/{listing.ref}").get_data(as_text=True)
    assert "<strong>存储的</strong>" in body
    assert client.get(f"/api/v1/listings/{listing.ref}").get_json()["description_html"].startswith("<p><strong>存储的")
    assert "存储的 描述" in client.get("/listings/").get_data(as_text=True)  # the card excerpt
    login(p["reviewer"])
    review = client.get(f"/listings/review/{listing.ref}").get_data(as_text=True)
    assert "<em>修订的</em>" in review and "<strong>存储的</strong>" in review


def test_upload_listing_with_attachment_unaffected(client, login, make_org, make_user):
    p = people(make_org, make_user)
    login(p["staff"])
    listing = services.create(p["staff"], "instrument", dict(INSTRUMENT))
    resp = client.post(f"/listings/{listing.ref}/attachments", data={"file": (io.BytesIO(b"%PDF-1.4 x"), "a.pdf")})
    assert resp.status_code in (200, 302)
    assert listing.description_html == "<p>场发射扫描电镜，配能谱仪。</p>\n"

