def test_home_renders_in_chinese(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert "长春新区开放场景与创新资源对接平台" in resp.get_data(as_text=True)


def test_login_and_logout(client, make_user, login):
    user = make_user()
    login(user)
    page = client.get("/").get_data(as_text=True)
    assert user.name in page


def test_wrong_password_is_refused(client, make_user):
    user = make_user()
    resp = client.post("/auth/login", data={"email": user.email, "password": "nope-nope-1"})
    assert resp.status_code == 200
    assert "邮箱或密码不正确" in resp.get_data(as_text=True)


def test_404_is_styled(client):
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert "您访问的页面不存在" in resp.get_data(as_text=True)
