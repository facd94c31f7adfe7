"""Issue 12, hardening: no full ID number in the log and an access line for every request (a real
uvicorn process), every error problem+json with a code (unreadable bodies, months with
whitespace), evidence storage resolved at start and refused when not writable, a missing file a
clear problem. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.evidence.storage import StorageNotWritable
from app.main import create_app
from tests.api.test_evidence import PDF, posted, upload
from tests.conftest import admin_headers
from tests.factories import API, assert_problem, bearer, credit_code, id_number, make_provider
from tests.live_server import LOOPBACK, REPO_ROOT, free_port, service_process_env


# --- 9. the log ----------------------------------------------------------------------------------
def test_no_full_id_number_reaches_the_log_and_every_request_is_logged(service_env, tmp_path):
    """ID-shaped values through the path, the query, the body and a header, against uvicorn with
    its access log on: the log masks every one and still has one access line per request."""
    number = id_number(birth="19480312")
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {**service_process_env(service_env), "VOUCHER_EVIDENCE__STORAGE_DIR": str(tmp_path / "evidence")}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", LOOPBACK, "--port", str(port)]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://{LOOPBACK}:{port}"
            with httpx.Client(base_url=base, headers=admin_headers(), timeout=10) as http:
                for _ in range(200):
                    try:
                        if http.get("/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.05)
                provider = http.post(
                    f"{API}/providers",
                    json={
                        "name": "日志测试驿站",
                        "kind": "station",
                        "district_code": "110105",
                        "credit_code": credit_code(),
                    },
                )
                key = bearer(provider.json()["api_key"]) if provider.status_code == 201 else {}
                sent = [
                    http.get(f"{API}/elders/{number}?m=1"),  # path
                    http.get(f"{API}/elders?district_code={number}&m=2"),  # query, failing validation
                    http.get(f"{API}/elders?m=3", headers={"X-Elder-Id": number}),  # header
                    http.get(f"{API}/elders?m=4", headers={"Authorization": f"Bearer {number}"}),  # token
                    http.post(f"{API}/pos/lookup?m=5", json={"id_number": number}, headers=key),  # body
                    http.post(f"{API}/elders?m=6", json={"name": "x", "id_number": number + "0"}),  # bad body
                ]
        finally:
            server.terminate()
            server.wait(timeout=10)
    assert all(response.status_code < 500 for response in sent), [r.text for r in sent]
    logged = log_path.read_text(encoding="utf-8", errors="replace")
    assert number not in logged and number[:17] not in logged, logged
    assert "--- Logging error ---" not in logged, logged
    for marker in range(1, 7):
        assert re.search(rf'"(GET|POST) /api/v1/[^ ]*m={marker} HTTP/1.1" \d{{3}}', logged), (marker, logged)
    assert f"/api/v1/elders/{number[:6]}********{number[14:]}?m=1" in logged


# --- 10. every error is problem+json with a code ---------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"month": "2026-03\xff"}', id="not-utf-8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested-too-deep"),
    ],
)
def test_an_unreadable_body_is_a_validation_error(client, content):
    response = client.post(
        f"{API}/jobs/issue", content=content, headers={**admin_headers(), "Content-Type": "application/json"}
    )
    problem = assert_problem(response, 422, "VALIDATION_ERROR")
    assert problem["errors"] == [
        {"loc": ["body"], "type": "body_unreadable", "msg": "request body could not be parsed"}
    ]
    assert not problem["title"].isascii()


@pytest.mark.parametrize("month", ["2026-02\n", "2026-02 ", " 2026-02", "2026-02\t"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/settlements", {"district_code": "110105"}),
        ("/jobs/issue", {}),
        ("/jobs/expire", {}),
        ("/audit-samples", {"district_code": "110105", "kind": "redemption"}),
        ("/provider-lists", {"district_code": "110105"}),
    ],
)
def test_a_month_with_whitespace_is_refused_in_every_body(client, path, body, month):
    before = client.get(f"{API}/settlements", headers=admin_headers()).json()
    response = client.post(f"{API}{path}", json={**body, "month": month}, headers=admin_headers())
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert client.get(f"{API}/settlements", headers=admin_headers()).json() == before


def test_a_district_code_with_whitespace_is_refused_too(client):
    response = client.post(
        f"{API}/settlements", json={"district_code": "110105 ", "month": "2026-02"}, headers=admin_headers()
    )
    assert_problem(response, 422, "VALIDATION_ERROR")


# --- 11. evidence storage -------------------------------------------------------------------------
def test_a_relative_storage_directory_is_resolved_once_at_start(service_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", "./var/evidence")
    get_settings.cache_clear()
    resolved = get_settings().evidence.storage_dir
    assert resolved == str(tmp_path / "var" / "evidence")
    monkeypatch.chdir(REPO_ROOT)  # the server's working directory moves; the storage does not
    assert get_settings().evidence.storage_dir == resolved
    with TestClient(create_app()) as started:
        assert started.get("/healthz").status_code == 200
    assert (tmp_path / "var" / "evidence").is_dir()


def test_the_service_refuses_to_start_on_storage_it_cannot_write(service_env, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", str(blocker / "evidence"))
    get_settings.cache_clear()
    with pytest.raises(StorageNotWritable, match="not writable"), TestClient(create_app()):
        pass


def test_a_missing_file_is_a_clear_problem_not_a_server_error(client, tmp_path, monkeypatch):
    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", str(tmp_path / "evidence"))
    get_settings.cache_clear()
    provider = make_provider(client)
    redemption = posted(client, provider)
    stored = upload(client, provider, redemption["id"], "receipt", PDF)
    assert stored.status_code == 201, stored.text
    for path in (tmp_path / "evidence").rglob("*"):
        if path.is_file():
            path.unlink()  # a lost disk, a storage moved without its files
    response = client.get(stored.json()["content_url"], headers=bearer(provider["api_key"]))
    problem = assert_problem(response, 404, "EVIDENCE_FILE_MISSING")
    assert "备份" in problem["detail"]
