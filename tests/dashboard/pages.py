"""Helpers for dashboard tests: sign in through the form, read the CSRF token off a page."""

from __future__ import annotations

import re

from tests.factories import staff

DASHBOARD = "/dashboard"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def sign_in(client, token: str, *, follow: bool = True):
    """Sign in with a staff token (the client keeps the session cookie); returns the response."""
    return client.post(f"{DASHBOARD}/login", data={"token": token, "next": "/"}, follow_redirects=follow)


def signed_in_staff(client, role: str, district_code: str | None = None):
    """A new staff member of ``role``, signed in on ``client``."""
    member = staff(client, role, district_code)
    response = sign_in(client, member.token)
    assert response.status_code == 200, response.text
    return member


def csrf_token(client, path: str = "/") -> str:
    page = client.get(f"{DASHBOARD}{path}")
    assert page.status_code == 200, page.text
    tokens = set(_CSRF.findall(page.text))
    # Every form of the page carries the same, non-empty token (a macro imported without its
    # context would render an empty one, which a browser would then submit).
    assert len(tokens) == 1 and "" not in tokens, f"CSRF tokens on {path}: {tokens}"
    return tokens.pop()


def post_form(client, path: str, data: dict, *, from_page: str = "/"):
    """Submit a dashboard form as the browser would: with the page's CSRF token."""
    return client.post(
        f"{DASHBOARD}{path}",
        data={"csrf_token": csrf_token(client, from_page), **data},
        follow_redirects=False,
    )


def flash_of(response) -> str | None:
    """The flash message a redirect sets (decoded), if any."""
    import base64
    import json

    raw = response.cookies.get("voucher_flash")
    return json.loads(base64.urlsafe_b64decode(raw.encode()))["text"] if raw else None
