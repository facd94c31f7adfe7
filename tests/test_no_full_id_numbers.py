"""No full ID number leaves the service (issue 15): not in a dashboard page, not in an export
(XLSX, CSV) of the dashboard or the API, not in an API response, not in a log line.

The demo is loaded, then every dashboard page reachable by links is crawled as the city admin and
as a district officer (downloads included), every parameterless API GET is read, the elder
search is asked with a full number, and every log record of the whole run is kept. None of the
texts may contain any elder's full number (18 characters, in any letter case)."""

from __future__ import annotations

import io
import logging
import re
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.db import session_scope
from app.demo.loader import load_demo
from app.models.elders import Elder
from tests.dashboard.pages import DASHBOARD, sign_in
from tests.factories import bearer

API = "/api/v1"
MAX_PAGES = 400
_LINK = re.compile(r'href="([^"#]+)"')
_SKIP = ("/logout", "/static/", "/login")


@pytest.fixture
def demo(client, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", str(tmp_path / "evidence"))
    caplog.set_level(logging.DEBUG)
    with session_scope() as session:
        load_demo(session, elders_per_district=8)
    with session_scope(write=False) as session:
        numbers = set(session.scalars(select(Elder.id_number)))
    assert len(numbers) > 10
    # Last month's batch and audit sample, so that statements, their downloads and the sample's
    # drawn elders are among the pages.
    civil = bearer("demo-chaoyang-civil")
    month = {"district_code": "110105", "month": "2026-02"}
    assert client.post(f"{API}/settlements", json=month, headers=civil).status_code == 201
    sample = client.post(f"{API}/audit-samples", json={**month, "kind": "redemption"}, headers=civil)
    assert sample.status_code in (200, 201), sample.text
    return numbers


def _texts(response) -> list[str]:
    """What a person could read in a response: the page or body, every cell of a workbook."""
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        workbook = load_workbook(io.BytesIO(response.content), read_only=True)
        return [str(cell) for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row]
    return [response.text]


def _crawl(client, token: str) -> list[str]:
    """Every dashboard page and download reachable from the overview by links, as ``token``."""
    sign_in(client, token)
    seen, queue, texts = set(), deque([f"{DASHBOARD}/"]), []
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        texts += _texts(response) + [url]
        if "text/html" in response.headers.get("content-type", ""):
            for link in _LINK.findall(response.text):
                target = urljoin(url, link.replace("&amp;", "&"))
                parts = urlsplit(target)
                if parts.path.startswith(DASHBOARD) and not any(skip in target for skip in _SKIP):
                    queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert len(seen) > 20, "the crawl found too few pages to mean anything"
    client.post(f"{DASHBOARD}/logout")
    return texts


def _api_texts(client) -> list[str]:
    """Every API GET without path parameters, as the city admin."""
    texts = []
    for path, item in client.app.openapi()["paths"].items():
        if "get" in item and "{" not in path:
            texts += _texts(client.get(path, headers=bearer("demo-city-admin")))
    return texts


def test_no_full_id_number_in_pages_exports_responses_or_logs(client, demo, caplog):
    numbers = demo
    texts = _crawl(client, "demo-city-admin") + _crawl(client, "demo-chaoyang-civil")
    texts += _api_texts(client)
    sign_in(client, "demo-chaoyang-civil")
    one = sorted(numbers)[0]
    for query in (one, one.lower()):
        texts += _texts(client.get(f"{DASHBOARD}/elders", params={"q": query}))
    # The service's own log lines (the test client's request log shows the URLs this test asked).
    texts += [record.getMessage() for record in caplog.records if not record.name.startswith("httpx")]
    everything = "\n".join(texts).upper()
    leaked = sorted(number for number in numbers if number.upper() in everything)
    assert leaked == [], f"{len(leaked)} full ID numbers shown, e.g. {leaked[:2]}"
