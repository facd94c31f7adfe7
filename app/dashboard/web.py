"""What every dashboard page shares: the signed-in officer, district scope, CSRF-checked forms,
flash messages, and rendering with the page chrome. No business rules here: pages call the
same services as the API.

Security model (docs/dashboard.md): the session cookie is HttpOnly, SameSite=Strict and Secure
over HTTPS; every form carries the session's synchronizer token, and a POST whose Origin is
another site is refused whatever it carries.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import CITY_WIDE_ROLES
from app.auth.sessions import SignedIn, resolve_session
from app.config import get_settings
from app.dashboard import labels
from app.deps import SessionDep
from app.errors import AppError, Forbidden, InvalidMonth, NotFound
from app.models.elders import Elder
from app.models.reference import District
from app.rules.money import yuan_text
from app.rules.months import BEIJING, Month

SESSION_COOKIE = "voucher_session"
FLASH_COOKIE = "voucher_flash"
TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


class LoginRequired(Exception):
    """No valid session: the page redirects to the sign-in form and back afterwards."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class CsrfRejected(Forbidden):
    code = "CSRF_REJECTED"
    title = "表单已失效"

    def __init__(self) -> None:
        super().__init__("表单已失效或来自其他网站,请刷新页面后重试")


class ConfirmationRequired(AppError):
    code, status, title = "CONFIRMATION_REQUIRED", 422, "请先勾选确认"

    def __init__(self) -> None:
        super().__init__("该操作会改变结算或资金状态,请勾选确认框后再提交")


def require_confirmation(confirm: str | None) -> None:
    """Forms that move money or change a review stage carry a required confirmation box; the
    browser enforces it, and so does the server (a script or an old browser may not)."""
    if confirm != "yes":
        raise ConfirmationRequired()


# --- formatting ------------------------------------------------------------------------------


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with thousands separators: 123456789 -> "1,234,567.89"."""
    if fen is None:
        return "—"
    text = yuan_text(int(fen))
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, cents = digits.split(".")
    return f"{sign}{int(whole):,}.{cents}"


def number(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def percent(ratio_text: str | None) -> str:
    """A 4-place ratio string ("0.4321") as a percentage with two places ("43.21%")."""
    if ratio_text is None:
        return "—"
    whole, _, places = ratio_text.partition(".")
    basis_points = int(whole) * 10000 + int((places + "0000")[:4])
    return f"{basis_points // 100}.{basis_points % 100:02d}%"


def beijing_time(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def day_text(value: date | None) -> str:
    return "—" if value is None else value.isoformat()


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters.update(
    yuan=yuan, number=number, percent=percent, beijing_time=beijing_time, day=day_text
)
templates.env.globals.update(labels=labels, title=labels.title)


def href(request: Request, path: str, **query: Any) -> str:
    """A dashboard URL (the app is mounted under a prefix) with the non-empty query values."""
    params = {k: v for k, v in query.items() if v not in (None, "")}
    root = request.scope.get("root_path", "")
    return f"{root}{path}" + (f"?{urlencode(params)}" if params else "")


# --- the signed-in officer -------------------------------------------------------------------


def current_user(request: Request, session: SessionDep) -> SignedIn:
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in = resolve_session(session, cookie) if cookie else None
    if signed_in is None:
        # Where to come back to, inside the dashboard (the mount prefix is added back by href).
        path = request.url.path.removeprefix(request.scope.get("root_path", "")) or "/"
        raise LoginRequired(path + (f"?{request.url.query}" if request.url.query else ""))
    request.state.user = signed_in
    return signed_in


User = Annotated[SignedIn, Depends(current_user)]


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site (Origin, or Referer when
    Origin is absent). Requests with neither (old clients, curl) rely on the CSRF token."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return claimed is None
    return urlsplit(claimed).netloc == request.headers.get("host", request.url.netloc)


def checked_form(request: Request, user: User, csrf_token: Annotated[str, Form()] = "") -> SignedIn:
    """The signed-in officer of a POST whose form carries this session's CSRF token."""
    if not same_origin(request) or not secrets.compare_digest(csrf_token.encode(), user.csrf_token.encode()):
        raise CsrfRejected()
    return user


FormUser = Annotated[SignedIn, Depends(checked_form)]


# --- district and month scope ----------------------------------------------------------------


def districts(session: Session) -> list[tuple[str, str]]:
    return [(d.code, d.name) for d in session.scalars(select(District).order_by(District.code))]


def district_name(session: Session, code: str) -> str:
    district = session.get(District, code)
    return district.name if district else code


def city_wide(user: SignedIn) -> bool:
    """City admins and auditors see every district (and pick one); the others see their own."""
    return user.principal.role in CITY_WIDE_ROLES


def default_district(session: Session) -> str:
    """For city-wide roles: the district with the most elders (the first one when none has any)."""
    busiest = session.scalar(
        select(Elder.district_code).group_by(Elder.district_code).order_by(func.count().desc()).limit(1)
    )
    return busiest or session.scalar(select(District.code).order_by(District.code).limit(1))


def scoped_district(session: Session, user: SignedIn, requested: str | None) -> str:
    """The district a page shows: a district officer's own; for city admins and auditors the one
    they picked. Another district than one's own is "not found", as in the API."""
    principal = user.principal
    if not city_wide(user):
        if requested and requested != principal.district_code:
            raise NotFound("未找到该区的数据")
        return principal.district_code
    if not requested:
        return default_district(session)
    if session.get(District, requested) is None:
        raise NotFound("未找到该区")
    return requested


def page_district(
    session: SessionDep, user: User, district: Annotated[str | None, Query(max_length=6)] = None
) -> str:
    return scoped_district(session, user, district)


ScopedDistrict = Annotated[str, Depends(page_district)]


def parse_month(text: str | None, *, default: Month | None = None) -> Month:
    if not text:
        return default or clock.current_month()
    try:
        return Month.parse(text)
    except ValueError:
        raise InvalidMonth(f"月份格式应为 YYYY-MM: {text[:20]}") from None


# --- flash messages and rendering ------------------------------------------------------------


def set_flash(response: Response, kind: str, text: str) -> None:
    """A one-time message for the next page (kind: success | error)."""
    payload = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text}).encode()).decode()
    response.set_cookie(FLASH_COOKIE, payload, max_age=60, httponly=True, samesite="strict", path="/")


def _take_flash(request: Request) -> dict | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        flash = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return {"kind": str(flash["kind"]), "text": str(flash["text"])}
    except (ValueError, KeyError, TypeError):
        return None


def redirect(request: Request, path: str, *, flash: str | None = None, **query: Any) -> RedirectResponse:
    """303 See Other after a successful form (post/redirect/get), with an optional message."""
    response = RedirectResponse(href(request, path, **query), status_code=303)
    if flash:
        set_flash(response, "success", flash)
    return response


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    session: Session | None = None,
) -> HTMLResponse:
    """Render a page with its chrome: the officer, the CSRF token, the district picker, the
    flash message of the previous form (read once, then cleared)."""
    user: SignedIn | None = getattr(request.state, "user", None)
    flash = _take_flash(request)
    picks_district = bool(user and city_wide(user))
    values = {
        "request": request,
        "user": user,
        "csrf_token": user.csrf_token if user else "",
        "href": lambda path, **query: href(request, path, **query),
        "flash": flash,
        "city_wide": picks_district,
        # Only city admins and auditors have the district picker.
        "district_options": districts(session) if session is not None and picks_district else [],
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def error_redirect(request: Request, error: AppError) -> RedirectResponse:
    """A refused form goes back to the page it came from, with the reason on top."""
    back = urlsplit(request.headers.get("referer") or "")
    target = (
        back.path + (f"?{back.query}" if back.query else "") if same_origin(request) and back.path else None
    )
    response = RedirectResponse(target or href(request, "/"), status_code=303)
    set_flash(response, "error", f"{error.title}:{error.detail}({error.code})")
    return response


def secure_cookie(request: Request) -> bool:
    mode = get_settings().dashboard.secure_cookie
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")
