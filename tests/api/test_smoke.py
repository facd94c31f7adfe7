from tests.conftest import admin_headers


def test_health_and_policy(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/api/v1/policy", params={"month": "2026-05"}, headers=admin_headers())
    assert response.status_code == 200
    assert response.json()["monthly_cap_fen"] == 80000
