"""Tenant isolation over every route that takes an id, enumerated from the app's own OpenAPI schema."""

from __future__ import annotations

import re
from typing import Any

from api_testkit import Api, screened

# Which path parameters name tenant-owned objects. A new parameter fails the test until classified.
TENANT_OWNED = {"list_id", "match_id"}
SHARED = {"entity_id"}  # snapshot entities are shared reference data, not a tenant's objects
REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "DecisionRequest": {"decision": "reject", "reason": "probe from another tenant"},
}


def _body_for(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return None
    schema = content.get("application/json", {}).get("schema", {})
    name = schema.get("$ref", "").rsplit("/", 1)[-1]
    assert name in REQUEST_EXAMPLES, f"add a request example for {name or content} to the tenancy test"
    return REQUEST_EXAMPLES[name]


def _owned_state(api: Api, headers: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    list_id = screened(api, headers, b"id,name,country\nK1,Dhaka Knits,BD\nK2,Tamil Nadu Fabrics,IN\n")
    matches = api.client.get("/v1/matches?status=review", headers=headers).json()["items"]
    ids = {"list_id": list_id, "match_id": matches[0]["id"]}
    # Strings that would betray the object: its ids, its rows' names and keys.
    secrets = [list_id, *(m["id"] for m in matches), "Dhaka Knits", "Tamil Nadu", "K1", "K2"]
    return ids, secrets


def test_every_id_route_hides_other_tenants_objects(api: Api) -> None:
    owner = api.headers("acme", "member")
    ids, secrets = _owned_state(api, owner)
    before = api.client.get("/v1/matches?status=review", headers=owner).json()["items"]
    intruders = [api.headers("globex", role) for role in ("member", "admin", "auditor")]

    checked = []
    for path, operations in api.app.openapi()["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        unknown = set(params) - TENANT_OWNED - SHARED
        assert not unknown, f"{path}: classify path parameter(s) {unknown} as tenant-owned or shared"
        if not set(params) & TENANT_OWNED:
            continue
        url = path.format(**ids)
        for method, operation in operations.items():
            body = _body_for(operation)
            for headers in intruders:
                r = api.client.request(method.upper(), url, headers=headers, json=body)
                if r.status_code == 403:  # the role may not use the route at all: nothing leaks either
                    assert not any(s in r.text for s in secrets)
                    continue
                assert r.status_code == 404, (method, path, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert not any(s in r.text for s in secrets), (method, path, r.text)
            # The owner can use the same route (so the 404 above is isolation, not a broken route).
            if method == "get":
                assert api.client.get(url, headers=owner).status_code == 200, (method, path)
            checked.append((method, path))
    assert {p for _, p in checked} >= {
        "/v1/lists/{list_id}",
        "/v1/lists/{list_id}/results",
        "/v1/matches/{match_id}/decision",
    }
    # Nothing the intruders sent changed the owner's review queue.
    assert api.client.get("/v1/matches?status=review", headers=owner).json()["items"] == before


def test_collections_show_only_own_objects(api: Api) -> None:
    owner = api.headers("acme")
    _, secrets = _owned_state(api, owner)
    other = api.headers("globex")
    for status in ("review", "match", "confirmed", "rejected"):
        r = api.client.get(f"/v1/matches?status={status}", headers=other)
        assert r.status_code == 200 and r.json()["items"] == []
        assert not any(s in r.text for s in secrets)


def test_same_tenant_other_key_sees_the_list(api: Api) -> None:
    first = api.headers("acme", "member")
    ids, _ = _owned_state(api, first)
    colleague = api.headers("acme", "auditor")
    assert api.client.get(f"/v1/lists/{ids['list_id']}", headers=colleague).status_code == 200
    # Auditors read but do not decide.
    r = api.client.post(
        f"/v1/matches/{ids['match_id']}/decision",
        json={"decision": "confirm", "reason": "x"},
        headers=colleague,
    )
    assert r.status_code == 403
