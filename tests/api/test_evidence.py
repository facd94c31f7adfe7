"""Evidence (二(四)): providers attach checked files to their own redemptions; staff in scope list
and download them; a batch flags redemptions that lack the required kinds."""

from __future__ import annotations

import pytest

from app.config import get_settings
from tests.conftest import admin_headers
from tests.factories import (
    API,
    approved_elder,
    assert_problem,
    bearer,
    make_provider,
    make_staff,
    redeem,
    set_clock,
)

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + b"\x00" * 16
)
# 二(四) and the photo of the ID card or 养老助残卡 taken before the service (四(三)).
HOME_REQUIRED = ("id_photo", "service_record", "receipt", "redemption_proof")


@pytest.fixture(autouse=True)
def evidence_dir(tmp_path, monkeypatch):
    directory = tmp_path / "evidence"
    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", str(directory))
    get_settings.cache_clear()
    yield directory
    get_settings.cache_clear()


def upload(
    client, provider: dict, redemption_id: str, kind: str, data: bytes, *, name=None, content_type=None
):
    # Without an explicit type the client guesses one from the name: name files by their bytes.
    name = name or {PNG[:4]: "f.png", JPEG[:4]: "f.jpg"}.get(data[:4], "f.pdf")
    files = {"file": (name, data, content_type) if content_type else (name, data)}
    return client.post(
        f"{API}/redemptions/{redemption_id}/evidence",
        data={"kind": kind},
        files=files,
        headers=bearer(provider["api_key"]),
    )


def posted(client, provider: dict, **overrides) -> dict:
    elder = approved_elder(client)
    response = redeem(client, provider, elder["id"], **overrides)
    assert response.status_code == 201, response.text
    return response.json()


def stored_files(directory) -> list:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def test_provider_uploads_each_kind_and_staff_in_scope_list_and_download(client):
    provider = make_provider(client)
    redemption = posted(client, provider)
    bodies = {
        "service_record": (PDF, "服务记录.pdf", "application/pdf"),
        "receipt": (JPEG, "receipt.jpg", "image/jpeg"),
        "redemption_proof": (PNG, "proof.png", "image/png"),
        "residence_agreement": (PDF + b"% agreement\n", "agreement.pdf", "application/pdf"),
    }
    uploaded = {}
    for kind, (data, name, content_type) in bodies.items():
        response = upload(
            client, provider, redemption["id"], kind, data, name=name, content_type=content_type
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["kind"] == kind
        assert body["content_type"] == content_type
        assert body["size_bytes"] == len(data)
        assert body["redemption_id"] == redemption["id"]
        assert body["uploaded_by"] == f"provider:{provider['id']}"
        assert len(body["sha256"]) == 64
        uploaded[kind] = body
    assert uploaded["service_record"]["filename"] == "服务记录.pdf"

    own = client.get(f"{API}/redemptions/{redemption['id']}/evidence", headers=bearer(provider["api_key"]))
    assert own.status_code == 200
    assert {e["kind"] for e in own.json()} == set(bodies)

    reviewer = bearer(make_staff(client, role="district_civil", district_code="110105"))
    auditor = bearer(make_staff(client, role="auditor"))
    for headers in (reviewer, auditor, admin_headers()):
        listed = client.get(f"{API}/redemptions/{redemption['id']}/evidence", headers=headers)
        assert listed.status_code == 200, listed.text
        assert len(listed.json()) == 4
    for kind, (data, _name, content_type) in bodies.items():
        content = client.get(uploaded[kind]["content_url"], headers=reviewer)
        assert content.status_code == 200, content.text
        assert content.content == data
        assert content.headers["content-type"] == content_type
        assert content.headers["x-content-type-options"] == "nosniff"
        assert "attachment" in content.headers["content-disposition"]
    detail = client.get(f"{API}/evidence/{uploaded['receipt']['id']}", headers=reviewer)
    assert detail.status_code == 200 and detail.json()["kind"] == "receipt"

    # Out of scope: another district's staff, another provider: 404 (not 403).
    elsewhere = bearer(make_staff(client, role="district_civil", district_code="110108"))
    other = make_provider(client)
    for headers in (elsewhere, bearer(other["api_key"])):
        assert_problem(client.get(f"{API}/redemptions/{redemption['id']}/evidence", headers=headers), 404)
        assert_problem(client.get(uploaded["receipt"]["content_url"], headers=headers), 404)
        assert_problem(client.get(f"{API}/evidence/{uploaded['receipt']['id']}", headers=headers), 404)
    assert_problem(client.get(f"{API}/evidence/not-an-id/content", headers=reviewer), 404)


def test_type_is_checked_by_magic_bytes(client, evidence_dir):
    provider = make_provider(client)
    redemption = posted(client, provider)
    rid = redemption["id"]
    # Declared as PDF, but it is text.
    assert_problem(
        upload(client, provider, rid, "receipt", b"hello, not a pdf", content_type="application/pdf"),
        422,
        "EVIDENCE_TYPE_NOT_ALLOWED",
    )
    # A real type but not allowed (GIF), and an executable renamed .pdf.
    assert_problem(
        upload(
            client,
            provider,
            rid,
            "receipt",
            b"GIF89a\x01\x00\x01\x00",
            name="x.gif",
            content_type="image/gif",
        ),
        422,
        "EVIDENCE_TYPE_NOT_ALLOWED",
    )
    assert_problem(
        upload(client, provider, rid, "receipt", b"MZ\x90\x00" + b"\x00" * 60, name="x.pdf"),
        422,
        "EVIDENCE_TYPE_NOT_ALLOWED",
    )
    # The bytes are a PDF but the client says PNG: refused, the declaration is wrong.
    assert_problem(
        upload(client, provider, rid, "receipt", PDF, name="x.png", content_type="image/png"),
        422,
        "EVIDENCE_TYPE_NOT_ALLOWED",
    )
    # Empty file; unknown kind.
    assert_problem(
        upload(client, provider, rid, "receipt", b"", content_type="application/pdf"), 422, "EVIDENCE_EMPTY"
    )
    assert_problem(
        upload(client, provider, rid, "selfie", PNG, content_type="image/png"), 422, "VALIDATION_ERROR"
    )
    # A refused upload stored nothing.
    assert stored_files(evidence_dir) == []
    # A generic declared type: the magic bytes decide.
    accepted = upload(
        client,
        provider,
        rid,
        "redemption_proof",
        PNG,
        name="../../etc/proof",
        content_type="application/octet-stream",
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["content_type"] == "image/png"
    assert accepted.json()["filename"] == "proof"
    listed = client.get(f"{API}/redemptions/{rid}/evidence", headers=bearer(provider["api_key"]))
    assert [e["kind"] for e in listed.json()] == ["redemption_proof"]


def test_too_large_is_refused(client, monkeypatch, evidence_dir):
    provider = make_provider(client)
    rid = posted(client, provider)["id"]
    monkeypatch.setenv("VOUCHER_EVIDENCE__MAX_BYTES", "1024")
    get_settings.cache_clear()
    at_limit = PDF + b"%" * (1024 - len(PDF))
    assert_problem(upload(client, provider, rid, "receipt", at_limit + b"%"), 422, "EVIDENCE_TOO_LARGE")
    # Far beyond the limit: refused from Content-Length before the body is parsed.
    assert_problem(upload(client, provider, rid, "receipt", PDF + b"%" * 300_000), 422, "EVIDENCE_TOO_LARGE")
    assert stored_files(evidence_dir) == []
    response = upload(client, provider, rid, "receipt", at_limit)
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == 1024


def test_only_the_provider_of_the_redemption_uploads(client):
    provider = make_provider(client)
    rid = posted(client, provider)["id"]
    other = make_provider(client)
    assert_problem(upload(client, other, rid, "receipt", PDF), 404, "NOT_FOUND")
    assert_problem(upload(client, other, "00000000-0000-0000-0000-000000000000", "receipt", PDF), 404)
    reviewer = make_staff(client, role="district_civil", district_code="110105")
    response = client.post(
        f"{API}/redemptions/{rid}/evidence",
        data={"kind": "receipt"},
        files={"file": ("r.pdf", PDF, "application/pdf")},
        headers=bearer(reviewer),
    )
    assert_problem(response, 403, "FORBIDDEN")
    listed = client.get(f"{API}/redemptions/{rid}/evidence", headers=bearer(provider["api_key"]))
    assert listed.json() == []


def test_the_same_content_is_stored_once(client, evidence_dir):
    provider = make_provider(client)
    first_redemption = posted(client, provider)["id"]
    second_redemption = posted(client, provider)["id"]
    first = upload(client, provider, first_redemption, "receipt", PDF)
    assert first.status_code == 201
    again = upload(client, provider, first_redemption, "receipt", PDF)
    assert again.status_code == 200, again.text  # recorded once: the original record
    assert again.json()["id"] == first.json()["id"]
    as_proof = upload(client, provider, first_redemption, "redemption_proof", PDF)
    elsewhere = upload(client, provider, second_redemption, "receipt", PDF)
    assert as_proof.status_code == elsewhere.status_code == 201
    assert len({first.json()["id"], as_proof.json()["id"], elsewhere.json()["id"]}) == 3
    assert first.json()["sha256"] == as_proof.json()["sha256"] == elsewhere.json()["sha256"]
    files = stored_files(evidence_dir)
    assert len(files) == 1
    sha = first.json()["sha256"]
    assert files[0].relative_to(evidence_dir).parts == (sha[:2], sha[2:4], sha)
    assert files[0].read_bytes() == PDF


def test_batch_flags_redemptions_missing_required_evidence(client):
    station = make_provider(client, kind="station")
    institution = make_provider(client, kind="institution")
    complete = posted(client, station)
    incomplete = posted(client, station)
    partial = posted(client, station)
    institutional = posted(client, institution, item=3, amount_fen=20000)
    assert institutional["category"] == "institution"
    for kind in HOME_REQUIRED:
        assert upload(client, station, complete["id"], kind, PDF + kind.encode()).status_code == 201
    assert upload(client, station, partial["id"], "receipt", JPEG).status_code == 201
    # A home-community receipt is not what an institution needs: its residence agreement is.
    for kind in ("service_record", "receipt", "redemption_proof"):
        assert upload(client, institution, institutional["id"], kind, PNG + kind.encode()).status_code == 201

    set_clock(client, "2026-04-02T09:00:00+08:00")
    reviewer = bearer(make_staff(client, role="district_civil", district_code="110105"))
    built = client.post(
        f"{API}/settlements", json={"district_code": "110105", "month": "2026-03"}, headers=reviewer
    )
    assert built.status_code == 201, built.text
    batch = built.json()
    assert batch["totals"]["redemptions"] == 4
    assert batch["missing_evidence"] == 3

    missing = client.get(f"{API}/settlements/{batch['id']}/missing-evidence", headers=reviewer)
    assert missing.status_code == 200, missing.text
    page = missing.json()
    assert page["total"] == 3
    by_id = {item["redemption_id"]: item for item in page["items"]}
    assert set(by_id) == {incomplete["id"], partial["id"], institutional["id"]}
    assert by_id[incomplete["id"]]["missing_kinds"] == list(HOME_REQUIRED)
    assert by_id[partial["id"]]["missing_kinds"] == ["id_photo", "service_record", "redemption_proof"]
    assert by_id[partial["id"]]["present_kinds"] == ["receipt"]
    assert by_id[institutional["id"]]["missing_kinds"] == ["residence_agreement"]
    assert by_id[partial["id"]]["provider_id"] == station["id"]
    assert by_id[partial["id"]]["item"] == 11 and by_id[partial["id"]]["item_name"]
    assert_problem(
        client.get(
            f"{API}/settlements/{batch['id']}/missing-evidence",
            headers=bearer(make_staff(client, role="district_civil", district_code="110108")),
        ),
        404,
    )
    assert_problem(
        client.get(f"{API}/settlements/{batch['id']}/missing-evidence", headers=bearer(station["api_key"])),
        403,
    )

    # During civil review the provider may still complete its evidence; the flag follows.
    for kind in ("id_photo", "service_record", "redemption_proof"):
        assert upload(client, station, partial["id"], kind, PDF + b"late " + kind.encode()).status_code == 201
    after = client.get(f"{API}/settlements/{batch['id']}", headers=reviewer).json()
    assert after["missing_evidence"] == 2
    page = client.get(f"{API}/settlements/{batch['id']}/missing-evidence?limit=1", headers=reviewer).json()
    assert page["total"] == 2 and len(page["items"]) == 1

    # Once civil review is submitted, the evidence is what the reviewer saw: no more uploads.
    submitted = client.post(
        f"{API}/settlements/{batch['id']}/civil-review", json={"rejections": []}, headers=reviewer
    )
    assert submitted.status_code == 200, submitted.text
    assert_problem(upload(client, station, incomplete["id"], "receipt", PNG), 409, "EVIDENCE_LOCKED")


def test_a_batch_built_after_all_required_uploads_flags_nothing(client):
    station = make_provider(client)
    redemption = posted(client, station)
    for kind in HOME_REQUIRED:
        assert upload(client, station, redemption["id"], kind, PDF + kind.encode()).status_code == 201
    set_clock(client, "2026-04-02T09:00:00+08:00")
    reviewer = bearer(make_staff(client, role="district_civil", district_code="110105"))
    built = client.post(
        f"{API}/settlements", json={"district_code": "110105", "month": "2026-03"}, headers=reviewer
    )
    assert built.status_code == 201, built.text
    assert built.json()["missing_evidence"] == 0
    page = client.get(f"{API}/settlements/{built.json()['id']}/missing-evidence", headers=reviewer).json()
    assert page == {"settlement_id": built.json()["id"], "items": [], "total": 0, "limit": 100, "offset": 0}


def test_a_reversed_redemption_takes_no_evidence(client):
    station = make_provider(client)
    redemption = posted(client, station)
    reversed_ = client.post(
        f"{API}/redemptions/{redemption['id']}/reverse", headers=bearer(station["api_key"])
    )
    assert reversed_.status_code == 200, reversed_.text
    assert_problem(upload(client, station, redemption["id"], "receipt", PDF), 409, "ALREADY_REVERSED")


def test_a_chunked_body_beyond_the_limit_is_cut_off(client, monkeypatch, evidence_dir):
    provider = make_provider(client)
    rid = posted(client, provider)["id"]
    monkeypatch.setenv("VOUCHER_EVIDENCE__MAX_BYTES", "1024")
    get_settings.cache_clear()
    boundary = "evidence-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nreceipt\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()

    def body():  # no Content-Length: sent chunked, counted as it arrives
        yield head + PDF
        for _ in range(40):
            yield b"%" * 8192
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        f"{API}/redemptions/{rid}/evidence",
        content=body(),
        headers={**bearer(provider["api_key"]), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(response, 422, "EVIDENCE_TOO_LARGE")
    assert stored_files(evidence_dir) == []
