"""Issue 13 friction: a registration that fails validation keeps the uploaded licence for the retry
(evidence store, keyed in the session by its sha256) and says plainly that passwords must be re-typed."""

import hashlib
import io

from sqlalchemy import select

from market.extensions import db
from market.orgs.uscc import make_valid_uscc
from models.organisations import Organisation

from .conftest import PDF
from .test_orgs_views import register_data


def test_failed_registration_keeps_the_licence_for_the_retry(client):
    bad_uscc = make_valid_uscc(31337)[:17] + "0"
    resp = client.post("/orgs/register", data=register_data(uscc=bad_uscc), content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "第 18 位应为" in page
    assert "已上传：执照.pdf，可重新选择" in page
    assert 'id="retype-passwords"' in page and "请重新输入密码" in page
    assert 'value="Strong2026pw"' not in page  # passwords are never echoed back
    # the retry chooses no file: the kept one is used
    data = register_data()
    del data["licence"]
    resp = client.post("/orgs/register", data=data, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    org = db.session.execute(select(Organisation)).scalar_one()
    assert org.licence_filename == "执照.pdf" and org.licence_sha256 == hashlib.sha256(PDF).hexdigest()
    with client.session_transaction() as sess:
        assert "register_licence" not in sess


def test_a_new_file_replaces_the_kept_one_and_none_at_all_is_still_required(client):
    page = client.post("/orgs/register", data=register_data(password="weak", password2="weak"),
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "已上传：执照.pdf" in page
    other = PDF + b"\n% another scan\n"
    page = client.post("/orgs/register", data=register_data(password="weak", password2="weak", licence=(io.BytesIO(other), "新执照.pdf")),
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "已上传：新执照.pdf" in page
    # a rejected file is not kept, and without any file the form asks for one
    page = client.post("/orgs/register", data=register_data(licence=(io.BytesIO(b"MZ\x90\x00exe"), "x.pdf")),
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "不支持的文件类型" in page and "已上传" not in page
    data = register_data()
    del data["licence"]
    page = client.post("/orgs/register", data=data, content_type="multipart/form-data").get_data(as_text=True)
    assert "请上传营业执照" in page
    assert db.session.execute(select(Organisation)).first() is None
