"""Small helpers for the browser tests: sign-in, accessibility checks, screenshots."""

from __future__ import annotations

from pathlib import Path

# WCAG 2.0/2.1 level A and AA rules of axe-core.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def sign_in(page, base_url: str, token: str) -> None:
    page.goto(f"{base_url}/dashboard/")
    assert "/dashboard/login" in page.url  # not signed in: the sign-in form, not the data
    page.get_by_label("员工令牌").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/dashboard/**")
    assert "/login" not in page.url


def sign_out(page) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/dashboard/login")


def assert_accessible(page, name: str) -> None:
    """axe-core finds no WCAG 2.1 A/AA violation (labels, table headers, contrast, names...)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    violations = results.response["violations"]
    details = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
    ]
    assert not violations, f"{name}: " + "; ".join(details)


def assert_keyboard_focus_visible(page) -> None:
    """The first Tab lands on the skip link, and a focused control shows a focus outline."""
    page.reload()  # focus starts at the top of the document
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => { const e = document.activeElement; const s = getComputedStyle(e);"
        " return {text: e.textContent.trim(), outline: s.outlineStyle, width: s.outlineWidth}; }"
    )
    assert focused["text"] == "跳到主要内容", focused
    assert focused["outline"] != "none" and focused["width"] not in ("0px", ""), focused


def screenshot(page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
