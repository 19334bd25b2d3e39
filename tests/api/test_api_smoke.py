from __future__ import annotations

from api_testkit import SUPPLIERS_CSV, Api


def test_score_matches_a_known_supplier(api: Api) -> None:
    headers = api.headers("acme", "member")
    body = {"records": [{"key": "r1", "name": "Dhaka Garments Ltd.", "country": "Bangladesh"}]}
    r = api.client.post("/v1/score", json=body, headers=headers)
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["matches"][0]["entity_id"] == "ent:BD:0001"
    assert result["result"]["band"] == "high"


def test_upload_then_results(api: Api) -> None:
    headers = api.headers("acme", "member")
    r = api.client.post(
        "/v1/lists", content=SUPPLIERS_CSV.encode(), headers={**headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 202, r.text
    list_id = r.json()["id"]
    assert r.headers["Location"] == f"/v1/lists/{list_id}"
    state = api.wait_for_list(list_id, headers)
    assert state["status"] == "done", state
    page = api.client.get(f"/v1/lists/{list_id}/results", headers=headers).json()
    assert [i["key"] for i in page["items"]] == ["S1", "S2", "S3", "S4"]
