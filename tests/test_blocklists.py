"""Shared blocklists: a Mastodon domain-block CSV imported from the command line (after a dry run) blocks
those domains on a live server — deliveries stop, what they send is refused — and our export reads back."""

from __future__ import annotations

import pytest

from fedgroup import actions
from fedgroup.rules import blocklists
from tests.conftest import eventually
from tests.test_federation import follow
from tests.test_moderation import AS, _no_followers, _queue, _queue_empty, fedgroup_cli


def blocklist(peer_domain: str, own_domain: str) -> str:
    return (
        "\ufeff#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
        f"{peer_domain},suspend,true,true,\"spam, harassment\",false\n"
        "quiet.example,silence,false,false,,false\n"
        "fine.example,noop,false,false,,false\n"
        "ba*.example,suspend,true,true,,true\n"
        "https://x.example/users/a,suspend,false,false,,false\n"
        f"{own_domain},suspend,false,false,,false\n"
        "\n"
        f"{peer_domain.upper()},suspend,false,false,,false\n"
    )


async def test_an_imported_blocklist_stops_deliveries_and_refuses_those_domains(make_server, peer, tmp_path):
    server = await make_server()
    data = server.config.data_dir
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    peer_domain = peer.base_url.split("://", 1)[1]
    csv_file = tmp_path / "blocklist.csv"
    csv_file.write_text(blocklist(peer_domain, server.config.domain), encoding="utf-8")

    # The dry run says what would change and changes nothing.
    preview = await fedgroup_cli(data, "block", "import", str(csv_file), "--dry-run")
    assert preview.returncode == 0, preview.stderr
    lines = preview.stdout.splitlines()
    assert lines[0] == f"would block\t{peer_domain}"
    assert "skipped\tquiet.example\tline 3: silence: fedgroup only blocks (suspend)" in lines
    assert "skipped\tfine.example\tline 4: noop: fedgroup only blocks (suspend)" in lines
    assert any(line.startswith("skipped\tba*.example\tline 5: obfuscated") for line in lines)
    assert "skipped\thttps://x.example/users/a\tline 6: not a domain" in lines
    assert f"skipped\t{server.config.domain}\tline 7: our own domain" in lines
    assert lines[-1] == "would block 1 domain(s); 0 already blocked; 5 skipped (dry run: nothing changed)"
    assert (await fedgroup_cli(data, "block", "list")).stdout.strip() == "nothing is blocked"

    done = await fedgroup_cli(data, "block", "import", str(csv_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"blocked\t{peer_domain}"
    assert (await fedgroup_cli(data, "block", "list")).stdout.split() == [peer_domain, "domain"]
    await eventually(lambda: _no_followers(server))

    # Deliveries stop: a new campaign goes nowhere on that domain; only the Reject of alice's follow is sent.
    await actions.create_campaign(server.runtime, "After the block", "not for them", visibility="public")
    await eventually(lambda: _queue_empty(server))
    assert await _queue(server) == []
    types = [r.json.get("type") for r in peer.received if r.json]
    assert "Reject" in types
    assert types[types.index("Reject"):].count("Create") == 0, "nothing is sent there after the block"
    # Inbound: refused.
    hello = {"@context": AS, "id": f"{alice.id}/follows/2", "type": "Follow", "actor": alice.id,
             "object": server.runtime.ids.group}  # fmt: skip
    status, text = await peer.post(alice, server.url("/groups/water/inbox"), hello)
    assert (status, text.strip()) == (403, "blocked")

    # Our export is Mastodon's format, and importing it again changes nothing.
    exported = await fedgroup_cli(data, "block", "export")
    assert exported.stdout.splitlines() == [
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate",
        f"{peer_domain},suspend,true,true,,false",
    ]
    again = tmp_path / "exported.csv"
    again.write_text(exported.stdout, encoding="utf-8")
    repeat = await fedgroup_cli(data, "block", "import", str(again))
    assert repeat.stdout.splitlines() == [
        f"already blocked\t{peer_domain}", "blocked 0 domain(s); 1 already blocked; 0 skipped"
    ]


async def test_a_file_that_is_not_a_blocklist_is_a_one_line_error(make_server, tmp_path):
    server = await make_server()
    for content in ("name,email\nolga,o@x\n", ""):
        wrong = tmp_path / "wrong.csv"
        wrong.write_text(content, encoding="utf-8")
        result = await fedgroup_cli(server.config.data_dir, "block", "import", str(wrong))
        assert result.returncode == 2
        assert result.stderr.startswith("fedgroup: error: cannot import that blocklist")
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_parser_reads_mastodons_exports_old_and_new():
    new = blocklists.parse(
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
        'a.example,suspend,true,false,"comma, ""quoted""",false\n'
        "A.EXAMPLE.,silence,,,,\n"
    )
    assert new == [blocklists.BlocklistRow(2, "a.example", "suspend", 'comma, "quoted"', False)]
    old = blocklists.parse("domain,severity\nb.example,\nc.example,noop\n")
    assert [(r.domain, r.severity) for r in old] == [("b.example", "suspend"), ("c.example", "noop")]
    with pytest.raises(blocklists.BlocklistError):
        blocklists.parse("host\nx.example\n")
    assert blocklists.parse(blocklists.export(["b.example", "a.example"])) == [
        blocklists.BlocklistRow(2, "a.example", "suspend"), blocklists.BlocklistRow(3, "b.example", "suspend")
    ]
