"""WebFinger, host-meta, NodeInfo and the actor documents, as a remote server sees them."""

from __future__ import annotations

import json

import aiohttp
import pytest
from jsonschema import Draft4Validator

from fedgroup.protocol.discovery import nodeinfo_document
from tests.conftest import FIXTURES
from tests.peer import ACTIVITY_JSON

LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


async def get(url: str, accept: str = "*/*") -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Accept": accept}, allow_redirects=False) as response:
            return response.status, dict(response.headers), await response.read()


async def test_webfinger_finds_the_group_by_acct_and_by_url(make_server):
    server = await make_server()
    domain = server.base_url.split("//")[1]
    for resource in (f"acct:water@{domain}", f"acct:WATER@{domain}", server.url("/groups/water")):
        status, headers, body = await get(server.url(f"/.well-known/webfinger?resource={resource}"))
        assert status == 200, resource
        assert headers["Content-Type"].startswith("application/jrd+json")
        assert headers["Access-Control-Allow-Origin"] == "*"
        import json

        jrd = json.loads(body)
        assert jrd["subject"] == f"acct:water@{domain}"
        assert jrd["aliases"] == [server.url("/groups/water")]
        self_link = [link for link in jrd["links"] if link["rel"] == "self"]
        assert self_link == [
            {"rel": "self", "type": "application/activity+json", "href": server.url("/groups/water")}
        ]
        assert any(link["rel"] == "http://webfinger.net/rel/profile-page" for link in jrd["links"])


@pytest.mark.parametrize(
    "resource,status",
    [
        ("acct:nobody@{domain}", 404),
        ("acct:water@elsewhere.example", 404),
        ("https://elsewhere.example/groups/water", 404),
        ("acct:", 400),
        ("acct:water", 400),
        ("not a resource", 400),
        ("", 400),
    ],
)
async def test_webfinger_unknown_and_malformed(make_server, resource, status):
    server = await make_server()
    domain = server.base_url.split("//")[1]
    got, headers, _ = await get(
        server.url("/.well-known/webfinger?resource=" + resource.format(domain=domain))
    )
    assert got == status
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_host_meta_and_nodeinfo(make_server):
    server = await make_server()
    status, headers, body = await get(server.url("/.well-known/host-meta"))
    assert status == 200 and headers["Content-Type"].startswith("application/xrd+xml")
    assert f'template="{server.base_url}/.well-known/webfinger?resource={{uri}}"' in body.decode()

    status, _, body = await get(server.url("/.well-known/nodeinfo"))
    links = json.loads(body)["links"]
    assert links == [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": server.url("/nodeinfo/2.1")},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": server.url("/nodeinfo/2.0")},
    ]
    status, headers, body = await get(server.url("/nodeinfo/2.1"))
    doc = json.loads(body)
    assert status == 200 and "schema/2.1" in headers["Content-Type"]
    assert doc["version"] == "2.1" and doc["software"]["name"] == "fedgroup"
    assert doc["protocols"] == ["activitypub"]
    assert doc["usage"] == {"users": {}}, "member counts are not published"
    assert doc["openRegistrations"] is False


def nodeinfo_schema(version: str) -> dict:
    return json.loads((FIXTURES / "nodeinfo" / f"schema-{version}.json").read_text())


@pytest.mark.parametrize("version", ["2.0", "2.1"])
async def test_each_nodeinfo_document_is_valid_against_its_schema(make_server, version):
    server = await make_server()
    status, headers, body = await get(server.url(f"/nodeinfo/{version}"))
    assert status == 200
    assert headers["Content-Type"] == (
        f'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/{version}#"'
    )
    doc = json.loads(body)
    Draft4Validator(nodeinfo_schema(version)).validate(doc)
    assert doc["version"] == version
    if version == "2.0":
        assert "repository" not in doc["software"] and "homepage" not in doc["software"]
    # The other version's schema refuses it: each URL serves its own version, not one document for both.
    other = "2.1" if version == "2.0" else "2.0"
    assert not Draft4Validator(nodeinfo_schema(other)).is_valid(doc)


def test_the_schemas_would_catch_what_2_0_forbids():
    """The check above can fail: 2.0 refuses a repository link and a software name outside [a-z0-9-]."""
    validator = Draft4Validator(nodeinfo_schema("2.0"))
    good = nodeinfo_document("Water", "2.0")
    assert validator.is_valid(good)
    assert not validator.is_valid(
        {**good, "software": {**good["software"], "repository": "https://x.example"}}
    )
    assert not validator.is_valid({**good, "software": {**good["software"], "name": "FedGroup"}})


async def test_nodeinfo_as_gotosocial_and_takahe_read_it(make_server):
    """GoToSocial takes the last 2.x link and accepts only the 2.0 profile or plain JSON; Takahē follows only
    the 2.0 rel and validates `version == "2.0"`. Both end up at a 2.0 document."""
    server = await make_server()
    _, _, body = await get(server.url("/.well-known/nodeinfo"))
    links = json.loads(body)["links"]
    gotosocial_pick = [
        link["href"]
        for link in links
        if link["rel"].startswith("http://nodeinfo.diaspora.software/ns/schema/2")
    ][-1]
    status, headers, body = await get(gotosocial_pick, accept="application/json")
    media, _, profile = headers["Content-Type"].partition(";")
    assert status == 200 and media == "application/json"
    assert profile.strip() == 'profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"'
    assert json.loads(body)["software"]["name"] == "fedgroup"

    takahe_pick = next(
        link["href"] for link in links if link["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.0"
    )
    status, _, body = await get(takahe_pick, accept="application/json")
    assert status == 200 and json.loads(body)["version"] == "2.0"
    assert (await get(server.url("/nodeinfo/2.2")))[0] == 404, "only the versions the links name"


@pytest.mark.parametrize("accept", [ACTIVITY_JSON, LD_JSON])
async def test_group_actor_document(make_server, peer, accept):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    status, actor = await peer.get(alice, server.url("/groups/water"), accept=accept)
    assert status == 200
    assert actor["type"] == "Group"
    assert actor["id"] == server.url("/groups/water")
    assert actor["preferredUsername"] == "water"
    assert actor["name"] == "Group A" and "Test group a" in actor["summary"]
    for key in ("inbox", "outbox", "followers", "following"):
        assert actor[key] == server.url(f"/groups/water/{key}")
    assert actor["endpoints"]["sharedInbox"] == server.url("/inbox")
    assert actor["publicKey"]["id"] == actor["id"] + "#main-key"
    assert actor["publicKey"]["owner"] == actor["id"]
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert actor["url"] and actor["discoverable"] is True
    assert "https://w3id.org/security/v1" in actor["@context"]


async def test_unsigned_actor_fetch_gets_a_minimal_actor(make_server, peer):
    server = await make_server()
    status, actor = await peer.get(None, server.url("/groups/water"))
    assert status == 200
    assert actor["type"] == "Group" and actor["inbox"] and actor["publicKey"]["publicKeyPem"]
    assert "summary" not in actor and "name" not in actor


async def test_browsers_get_html_for_the_actor_url(make_server):
    server = await make_server()
    status, headers, body = await get(server.url("/groups/water"), accept="text/html,application/xhtml+xml")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"@water@127.0.0.1" in body
    assert "script-src 'none'" in headers["Content-Security-Policy"]


async def test_instance_actor_is_an_application(make_server):
    server = await make_server()
    status, _, body = await get(server.url("/actor"), accept=ACTIVITY_JSON)
    import json

    actor = json.loads(body)
    assert status == 200 and actor["type"] == "Application"
    assert actor["publicKey"]["owner"] == server.url("/actor")
    group_status, _, group_body = await get(server.url("/groups/water"), accept=ACTIVITY_JSON)
    assert json.loads(group_body)["publicKey"]["publicKeyPem"] != actor["publicKey"]["publicKeyPem"]


async def test_unknown_group_is_404(make_server):
    server = await make_server()
    status, _, _ = await get(server.url("/groups/fire"), accept=ACTIVITY_JSON)
    assert status == 404
