"""Evidence uploads racing on one redemption, against a real server: the four required files
arriving together must leave the redemption marked complete (none may miss the others)."""

from __future__ import annotations

from tests.concurrency.conftest import (
    API,
    DEFAULT_NOW,
    approved_elders,
    assert_no_server_errors,
    create_provider,
    fire_together,
    redemption_body,
    scalar,
    set_clock,
    summary,
)

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
HOME_REQUIRED = ("id_photo", "service_record", "receipt", "redemption_proof")


def post_file(redemption_id: str, kind: str):
    def send(client):
        return client.post(
            f"{API}/redemptions/{redemption_id}/evidence",
            data={"kind": kind},
            files={"file": (f"{kind}.pdf", PDF + kind.encode(), "application/pdf")},
        )

    return send


def test_required_files_uploaded_together_mark_the_redemption_complete(start_server, monkeypatch, tmp_path):
    monkeypatch.setenv("VOUCHER_EVIDENCE__STORAGE_DIR", str(tmp_path / "evidence"))
    server = start_server()
    with server.client() as admin:
        set_clock(admin, DEFAULT_NOW)
        provider = create_provider(admin)
        redemptions = []
        for number, elder in enumerate(approved_elders(admin, 4)):
            with server.client(token=provider["api_key"]) as terminal:
                response = terminal.post(
                    f"{API}/redemptions",
                    json=redemption_body(elder["id"], amount_fen=2_000),
                    headers={"Idempotency-Key": f"evidence-race-{number}"},
                )
            assert response.status_code == 201, response.text
            redemptions.append(response.json()["id"])

    # Every redemption gets its four kinds at once: 16 uploads released together.
    results = fire_together(
        server,
        [(provider["api_key"], post_file(rid, kind)) for rid in redemptions for kind in HOME_REQUIRED],
    )
    assert_no_server_errors(results, server)
    assert all(r.status == 201 for r in results), summary(results)
    assert scalar("SELECT count(*) FROM redemption_evidence") == 16
    assert scalar("SELECT count(*) FROM redemptions WHERE evidence_complete") == 4
