"""Uploads, background screening, results pagination, review queue, remembered decisions."""

from __future__ import annotations

import io
import zipfile

import pytest
import xlsxwriter
from api_testkit import SUPPLIERS_CSV, Api, screened, upload
from sqlalchemy import func, select

from risk_engine.api.models import AuditEvent, Decision, ListResult, Match, SupplierList

CSV = {"Content-Type": "text/csv"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def count(api: Api, model: type) -> int:
    with api.app.state.api.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Suppliers")
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            sheet.write_string(i, j, value)
    book.close()
    return buffer.getvalue()


def test_upload_is_accepted_screened_and_paged(api: Api) -> None:
    headers = api.headers("acme")
    r = upload(api, headers)
    assert r.status_code == 202
    assert r.headers["location"] == f"/v1/lists/{r.json()['id']}"
    list_id = r.json()["id"]
    state = api.wait_for_list(list_id, headers)
    assert state["status"] == "done"
    assert (state["rows_read"], state["rows_rejected"], state["rows_matched"]) == (4, 0, 3)

    first = api.client.get(f"/v1/lists/{list_id}/results?limit=3", headers=headers).json()
    assert [i["key"] for i in first["items"]] == ["S1", "S2", "S3"]
    assert first["next_cursor"]
    second = api.client.get(
        f"/v1/lists/{list_id}/results", params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert [i["key"] for i in second["items"]] == ["S4"]
    assert second["next_cursor"] is None

    by_key = {i["key"]: i for i in first["items"] + second["items"]}
    assert by_key["S1"]["entity_id"] == "ent:BD:0001" and by_key["S1"]["band"] == "high"
    assert by_key["S2"]["band"] == "critical" and by_key["S2"]["detail"]["flags"][0]["type"] == "UFLPA_ENTITY"
    assert by_key["S3"]["match_status"] == "none" and by_key["S3"]["scored_from"] == "none"


@pytest.mark.parametrize("limit", [0, 251, -1])
def test_page_size_is_bounded(api: Api, limit: int) -> None:
    headers = api.headers("acme")
    list_id = screened(api, headers)
    r = api.client.get(f"/v1/lists/{list_id}/results?limit={limit}", headers=headers)
    assert r.status_code == 422


@pytest.mark.parametrize("cursor", ["garbage", "bTox", "cjphYmM", "%%%"])
def test_foreign_or_forged_cursor_is_422(api: Api, cursor: str) -> None:
    headers = api.headers("acme")
    list_id = screened(api, headers)
    r = api.client.get(f"/v1/lists/{list_id}/results", params={"cursor": cursor}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


def test_multipart_and_xlsx_uploads(api: Api) -> None:
    headers = api.headers("acme")
    r = api.client.post(
        "/v1/lists", files={"file": ("suppliers.csv", SUPPLIERS_CSV.encode(), "text/csv")}, headers=headers
    )
    assert r.status_code == 202, r.text
    assert r.json()["filename"] == "suppliers.csv"
    book = xlsx_bytes([["Supplier Name", "Country"], ["Dhaka Garments Ltd", "BD"]])
    r = api.client.post("/v1/lists", content=book, headers={**headers, "Content-Type": XLSX})
    assert r.status_code == 202, r.text
    assert api.wait_for_list(r.json()["id"], headers)["rows_matched"] == 1


def test_idempotency_key_returns_the_same_list(api: Api) -> None:
    headers = {**api.headers("acme"), "Idempotency-Key": "upload-2026-11-23"}
    first = upload(api, headers)
    again = upload(api, headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert count(api, SupplierList) == 1
    other_file = upload(api, headers, SUPPLIERS_CSV.replace("S4", "S5").encode())
    assert other_file.status_code == 422
    assert "idempotency" in other_file.json()["type"]
    assert count(api, SupplierList) == 1
    # Keys are per tenant: another tenant may use the same key string.
    other = upload(api, {**api.headers("globex"), "Idempotency-Key": "upload-2026-11-23"})
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        archive.writestr("xl/worksheets/sheet1.xml", b"<x>" + b" " * (40 * 1024 * 1024) + b"</x>")
    return buffer.getvalue()


BAD_UPLOADS = [
    pytest.param(b"", "text/csv", 422, id="empty"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "text/csv", 422, id="png-as-csv"),
    pytest.param(b"%PDF-1.7\n" + bytes(range(256)) * 8, XLSX, 422, id="pdf-as-xlsx"),
    pytest.param(b"shipment_id,date,shipper_name\n1,2024-01-01,A\n", "text/csv", 422, id="trade-file"),
    pytest.param(b'name,country\n=HYPERLINK("http://x"),BD\n', "text/csv", 422, id="formula"),
    pytest.param(b"name,country\n+cmd|' /C calc'!A0,BD\n", "text/csv", 422, id="dde-payload"),
    pytest.param(b"name,country\n@SUM(1+1),BD\n", "text/csv", 422, id="at-formula"),
    pytest.param(b"name,country\nAcme,Narnia\n", "text/csv", 422, id="no-usable-rows"),
    pytest.param(SUPPLIERS_CSV.encode(), "application/json", 415, id="json-type"),
    pytest.param(SUPPLIERS_CSV.encode(), "image/png", 415, id="png-type"),
    pytest.param(b"\xff\xfe\x00\x00garbage\x00\x00\x01", "text/csv", 422, id="undecodable"),
]


@pytest.mark.parametrize(("data", "content_type", "status"), BAD_UPLOADS)
def test_bad_uploads_get_a_problem_and_leave_nothing(
    api: Api, data: bytes, content_type: str, status: int
) -> None:
    headers = {**api.headers("acme"), "Content-Type": content_type, "Idempotency-Key": "k1"}
    r = api.client.post("/v1/lists", content=data, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert count(api, SupplierList) == 0
    assert count(api, ListResult) == 0
    assert count(api, Match) == 0


@pytest.mark.slow
def test_zip_bomb_is_refused(api: Api) -> None:
    headers = {**api.headers("acme"), "Content-Type": XLSX}
    r = api.client.post("/v1/lists", content=zip_bomb(), headers=headers)
    assert r.status_code == 422, r.text
    assert "zip bomb" in r.json()["detail"]
    assert count(api, SupplierList) == 0


def test_upload_over_the_limit_is_413_and_stores_nothing(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(max_upload_bytes=1000)
    big = SUPPLIERS_CSV.encode() + b"".join(b"S%d,Name %d,BD\n" % (i, i) for i in range(200))
    r = upload(api, api.headers("acme"), big)
    assert r.status_code == 413
    assert count(api, SupplierList) == 0


def test_multipart_without_file_part_is_422(api: Api) -> None:
    r = api.client.post(
        "/v1/lists",
        files={"notfile": ("a.csv", SUPPLIERS_CSV.encode(), "text/csv")},
        headers=api.headers("acme"),
    )
    assert r.status_code == 422
    assert count(api, SupplierList) == 0


def test_roles_for_lists(api: Api) -> None:
    assert upload(api, api.headers("acme", "auditor")).status_code == 403
    assert upload(api, api.headers("acme", "analyst")).status_code == 403
    assert upload(api, api.headers("acme", "admin")).status_code == 202


def test_review_queue_and_decisions_are_remembered(api: Api) -> None:
    headers = api.headers("acme")
    csv = b"id,name,country\nK1,Dhaka Knits,BD\nK2,Berlin Buttons,DE\n"
    list_id = screened(api, headers, csv)
    queue = api.client.get("/v1/matches?status=review", headers=headers).json()["items"]
    assert {m["entity_id"] for m in queue} == {"ent:BD:0001", "ent:BD:0002"}
    assert all(m["list_id"] == list_id and m["row_key"] == "K1" for m in queue)

    target = next(m for m in queue if m["entity_id"] == "ent:BD:0002")
    r = api.client.post(
        f"/v1/matches/{target['id']}/decision",
        json={"decision": "confirm", "reason": "same factory, checked the address"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["match"]["status"] == "confirmed"
    assert api.client.get("/v1/matches?status=review", headers=headers).json()["items"] == []
    results = api.client.get(f"/v1/lists/{list_id}/results", headers=headers).json()["items"]
    k1 = next(i for i in results if i["key"] == "K1")
    assert (k1["entity_id"], k1["match_status"], k1["band"]) == ("ent:BD:0002", "confirmed", "medium")

    # A later upload of the same supplier (different id and row) reuses the decision.
    later = screened(
        api, headers, b"supplier id,supplier name,country\nX9,Other Co,DE\nX1,DHAKA KNITS,Bangladesh\n"
    )
    items = api.client.get(f"/v1/lists/{later}/results", headers=headers).json()["items"]
    x1 = next(i for i in items if i["key"] == "X1")
    assert (x1["entity_id"], x1["match_status"]) == ("ent:BD:0002", "confirmed")
    assert api.client.get("/v1/matches?status=review", headers=headers).json()["items"] == []

    # Another tenant's upload of the same supplier is not affected.
    other = api.headers("globex")
    theirs = screened(api, other, csv)
    their_items = api.client.get(f"/v1/lists/{theirs}/results", headers=other).json()["items"]
    assert next(i for i in their_items if i["key"] == "K1")["match_status"] == "review"


def test_rejection_is_remembered_and_leaves_the_record_unmatched(api: Api) -> None:
    headers = api.headers("acme")
    list_id = screened(api, headers, b"id,name,country\nT1,Tamil Nadu Fabrics,IN\n")
    match = api.client.get("/v1/matches?status=match", headers=headers).json()["items"][0]
    r = api.client.post(
        f"/v1/matches/{match['id']}/decision",
        json={"decision": "reject", "reason": "different mill"},
        headers=headers,
    )
    assert r.status_code == 200
    item = api.client.get(f"/v1/lists/{list_id}/results", headers=headers).json()["items"][0]
    assert (item["entity_id"], item["match_status"]) == (None, "none")
    again = screened(api, headers, b"id,name,country\nT1,Tamil Nadu Fabrics,IN\n")
    item = api.client.get(f"/v1/lists/{again}/results", headers=headers).json()["items"][0]
    assert item["entity_id"] is None
    with api.app.state.api.sessions() as session:
        decisions = session.scalars(select(Decision)).all()
        assert [(d.decision, d.reason, d.tenant) for d in decisions] == [("reject", "different mill", "acme")]


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "maybe", "reason": "x"},
        {"decision": "confirm"},
        {"decision": "confirm", "reason": ""},
        {"decision": "confirm", "reason": "x", "decided_by": "someone-else"},
    ],
)
def test_invalid_decisions_are_422_and_change_nothing(api: Api, body: dict) -> None:
    headers = api.headers("acme")
    screened(api, headers, b"id,name,country\nK1,Dhaka Knits,BD\n")
    match = api.client.get("/v1/matches", headers=headers).json()["items"][0]
    r = api.client.post(f"/v1/matches/{match['id']}/decision", json=body, headers=headers)
    assert r.status_code == 422
    assert count(api, Decision) == 0


def test_audit_log_records_reads_and_decisions(api: Api) -> None:
    key = api.key("acme")
    headers = {"Authorization": f"Bearer {key}"}
    api.client.post(
        "/v1/score",
        json={"records": [{"key": "a", "name": "Dhaka Garments", "country": "BD"}]},
        headers=headers,
    )
    api.client.get("/v1/entities/ent:CN:0001", headers=headers)
    list_id = screened(api, headers, b"id,name,country\nK1,Dhaka Knits,BD\n")
    api.client.get(f"/v1/lists/{list_id}/results", headers=headers)
    match = api.client.get("/v1/matches", headers=headers).json()["items"][0]
    api.client.post(
        f"/v1/matches/{match['id']}/decision", json={"decision": "reject", "reason": "no"}, headers=headers
    )
    api.app.state.api.audit.flush()
    with api.app.state.api.sessions() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    actions = [e.action for e in events]
    for action in ("score.read", "entity.read", "list.create", "list_results.read", "decision.create"):
        assert action in actions
    assert {e.tenant for e in events} == {"acme"}
    assert {e.actor for e in events} == {key.split("_")[1]}
    assert all(e.at is not None for e in events)
    assert any("ent:BD:0001" in e.target for e in events if e.action == "score.read")
