"""Dashboard sign-in: the session cookie, CSRF-checked forms, district scope, security headers."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from app import clock
from app.db import session_scope
from app.main import create_app
from app.models.auth import StaffMember, StaffSession
from tests.conftest import ADMIN_TOKEN
from tests.dashboard.pages import DASHBOARD, csrf_token, sign_in, signed_in_staff
from tests.factories import make_provider, staff


def test_pages_redirect_to_sign_in_and_back(client):
    response = client.get(f"{DASHBOARD}/?district=110105&month=2026-03", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?next=%2F%3Fdistrict%3D110105%26month%3D2026-03"

    member = staff(client, "district_civil", "110105")
    response = client.post(
        f"{DASHBOARD}/login", data={"token": member.token, "next": "/anomalies"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/anomalies"


def test_session_cookie_is_http_only_strict_and_scoped(client):
    member = staff(client, "district_finance", "110105")
    response = sign_in(client, member.token, follow=False)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("voucher_session=")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/dashboard", "Max-Age=36000"):
        assert attribute.lower() in cookie.lower(), cookie
    assert "secure" not in cookie.lower()  # plain HTTP in tests; see the next test
    # The cookie is not the staff token, and only its hash is stored.
    value = response.cookies["voucher_session"]
    assert value != member.token
    with session_scope(write=False) as session:
        stored = session.query(StaffSession.token_hash).all()
    assert len(stored) == 1 and value not in stored[0][0]


def test_secure_cookie_when_configured(client, monkeypatch):
    from app.config import get_settings

    monkeypatch.setenv("VOUCHER_DASHBOARD__SECURE_COOKIE", "always")
    get_settings.cache_clear()
    member = staff(client, "district_civil", "110105")
    cookie = sign_in(client, member.token, follow=False).headers["set-cookie"]
    assert "secure" in cookie.lower()


def test_bad_tokens_are_refused_without_a_session(client):
    provider = make_provider(client)
    for token in ("", "st_not-a-token", provider["api_key"], ADMIN_TOKEN):
        response = sign_in(client, token, follow=False)
        assert response.status_code == 401, token
        assert "令牌无效" in response.text
        assert "voucher_session" not in response.headers.get("set-cookie", "")


def test_sign_in_never_redirects_off_site(client):
    member = staff(client, "district_civil", "110105")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            f"{DASHBOARD}/login", data={"token": member.token, "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/dashboard/", target


def test_sign_in_from_another_site_is_refused(client):
    member = staff(client, "district_civil", "110105")
    response = client.post(
        f"{DASHBOARD}/login",
        data={"token": member.token, "next": "/"},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 401


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client):
    signed_in_staff(client, "district_civil", "110105")
    cookie = client.cookies.get("voucher_session")

    refused = client.post(f"{DASHBOARD}/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 303 and "login" not in refused.headers["location"]
    assert client.get(f"{DASHBOARD}/", follow_redirects=False).status_code == 200  # still signed in

    cross_site = client.post(
        f"{DASHBOARD}/logout",
        data={"csrf_token": csrf_token(client)},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert cross_site.status_code == 303 and "login" not in cross_site.headers["location"]
    assert client.get(f"{DASHBOARD}/", follow_redirects=False).status_code == 200

    response = client.post(
        f"{DASHBOARD}/logout", data={"csrf_token": csrf_token(client)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/login"
    # The old cookie value no longer opens anything, even if the browser kept it.
    client.cookies.set("voucher_session", cookie, path="/dashboard")
    assert client.get(f"{DASHBOARD}/", follow_redirects=False).status_code == 303


def test_expired_sessions_and_deactivated_staff_are_signed_out(client):
    member = signed_in_staff(client, "district_civil", "110105")
    with session_scope() as session:
        session.execute(update(StaffSession).values(expires_at=clock.system_now() - timedelta(seconds=1)))
    assert client.get(f"{DASHBOARD}/", follow_redirects=False).status_code == 303

    signed_in_staff(client, "district_civil", "110105")
    assert client.get(f"{DASHBOARD}/", follow_redirects=False).status_code == 200
    with session_scope() as session:
        session.execute(update(StaffMember).values(active=False))
    assert client.get(f"{DASHBOARD}/", follow_redirects=False).status_code == 303
    assert sign_in(client, member.token, follow=False).status_code == 401


def test_district_officers_see_only_their_district(client):
    signed_in_staff(client, "district_civil", "110105")
    page = client.get(f"{DASHBOARD}/")
    assert "朝阳区" in page.text and 'id="district-picker"' not in page.text
    other = client.get(f"{DASHBOARD}/?district=110108")
    assert other.status_code == 404
    assert "未找到" in other.text and "海淀区" not in other.text


def test_city_wide_roles_pick_a_district(client):
    with TestClient(create_app()) as auditor_client:
        signed_in_staff(auditor_client, "auditor")
        page = auditor_client.get(f"{DASHBOARD}/?district=110108")
        assert page.status_code == 200
        assert "海淀区" in page.text
        assert '<label for="district-picker">' in page.text
        assert '<option value="110108" selected>' in page.text
        assert auditor_client.get(f"{DASHBOARD}/?district=999999").status_code == 404


def test_pages_carry_security_headers_and_server_timing(client):
    signed_in_staff(client, "district_civil", "110105")
    response = client.get(f"{DASHBOARD}/")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["server-timing"].startswith("app;dur=")
    css = client.get(f"{DASHBOARD}/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_bad_input_gets_an_error_page_not_a_500(client):
    signed_in_staff(client, "district_civil", "110105")
    response = client.get(f"{DASHBOARD}/?month=2026-13")
    assert response.status_code == 422
    assert "INVALID_MONTH" in response.text
    missing = client.get(f"{DASHBOARD}/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text


def test_home_redirects_to_the_dashboard(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/dashboard/"
