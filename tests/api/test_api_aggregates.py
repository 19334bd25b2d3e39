"""Pooled aggregates: analysts only, cells of at least k distinct members, latest list per member."""

from __future__ import annotations

from api_testkit import Api, screened


def _cells(api: Api, by: str = "country") -> dict:
    r = api.client.get(f"/v1/aggregates?by={by}", headers=api.headers("pool", "analyst"))
    assert r.status_code == 200, r.text
    return r.json()


def test_cells_below_k_members_are_suppressed(api: Api) -> None:  # settings fixture: k = 2
    screened(api, api.headers("acme"), b"name,country\nDhaka Garments Ltd,BD\nBerlin Buttons,DE\n")
    screened(api, api.headers("globex"), b"name,country\nDhaka Garments,BD\nTamil Nadu Fabrics,IN\n")
    body = _cells(api)
    assert body["k"] == 2
    cells = {c["key"]["country"]: c for c in body["cells"]}
    assert set(cells) == {"BD"}
    assert cells["BD"]["members"] == 2 and cells["BD"]["suppliers"] == 2
    assert cells["BD"]["bands"]["high"] == 2
    assert abs(cells["BD"]["mean_score"] - 0.41) < 1e-9
    assert body["suppressed_cells"] == 2  # DE and IN have one member each
    assert "acme" not in str(body) and "globex" not in str(body)


def test_one_member_with_many_suppliers_is_still_one_member(api: Api) -> None:
    rows = b"name,country\n" + b"".join(b"Dhaka Supplier %d,BD\n" % i for i in range(20))
    screened(api, api.headers("acme"), rows)
    body = _cells(api)
    assert body["cells"] == [] and body["suppressed_cells"] == 1


def test_only_each_members_latest_list_counts(api: Api) -> None:
    acme = api.headers("acme")
    screened(api, acme, b"name,country\nDhaka Garments Ltd,BD\n")
    screened(api, acme, b"name,country\nBerlin Buttons,DE\n")
    screened(api, api.headers("globex"), b"name,country\nDhaka Garments,BD\n")
    cells = {c["key"]["country"]: c for c in _cells(api)["cells"]}
    assert "BD" not in cells  # acme's newest list has no BD supplier any more


def test_by_band_and_two_dimensions(api: Api) -> None:
    screened(api, api.headers("acme"), b"name,country\nDhaka Garments Ltd,BD\n")
    screened(api, api.headers("globex"), b"name,country\nDhaka Garments,BD\n")
    assert [c["key"] for c in _cells(api, "band")["cells"]] == [{"band": "high"}]
    both = api.client.get("/v1/aggregates?by=country&by=band", headers=api.headers("pool", "analyst")).json()
    assert both["by"] == ["country", "band"] and both["cells"][0]["key"] == {"country": "BD", "band": "high"}


def test_members_and_auditors_cannot_read_aggregates(api: Api) -> None:
    for role in ("member", "auditor"):
        assert api.client.get("/v1/aggregates", headers=api.headers("acme", role)).status_code == 403
    r = api.client.get("/v1/aggregates?by=tenant", headers=api.headers("pool", "analyst"))
    assert r.status_code == 422
