"""Proposals: the pure rules (consent, choice, instant-runoff, score, quorum; properties with hypothesis),
then through live servers — members taking and changing positions on the web, a block and its reason, the
facilitator extending, closing early and writing the outcome, the scheduler closing on time, an anonymous
proposal whose database file holds no link from a member to a position, the CLI, and a published outcome as
the Mastodon-shaped peer receives it, with no name or reason in it or in the logs."""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedgroup import actions, store
from fedgroup.rules import passwords
from fedgroup.rules import proposals as rules
from fedgroup.rules.proposals import Position, ProposalError
from tests.conftest import MovableClock, eventually, run_cli
from tests.test_federation import follow
from tests.web_client import WebClient

PASSWORD = "correct horse battery"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

# -- the rules ---------------------------------------------------------------------------------------------


def test_what_may_be_proposed():
    later = NOW + timedelta(days=3)
    draft = rules.validate_proposal(" Rent the hall\u202e ", "Body\r\ntext", "consent", ["ignored"], later, None,
                                    False, NOW)  # fmt: skip
    assert (draft.title, draft.body, draft.options) == ("Rent the hall", "Body\ntext", ())
    choice = rules.validate_proposal("Where", "", "ranked", [" Library ", "", "Park"], later, 3, True, NOW)
    assert choice.options == ("Library", "Park") and choice.quorum == 3 and choice.anonymous
    for args, field in (
        (("", "", "consent", [], later, None), "title"),
        (("T", "", "poll", [], later, None), "kind"),
        (("T", "", "choice", ["Only one"], later, None), "options"),
        (("T", "", "score", ["Same", "same"], later, None), "options"),
        (("T", "", "consent", [], NOW - timedelta(minutes=1), None), "closes"),
        (("T", "", "consent", [], later, 0), "quorum"),
    ):
        with pytest.raises(ProposalError) as e:
            rules.validate_proposal(*args, False, NOW)
        assert e.value.field == field, args
    assert rules.parse_quorum("") is None and rules.parse_quorum("4") == 4
    for bad in ("0", "-1", "x", "٣"):
        with pytest.raises(ProposalError):
            rules.parse_quorum(bad)
    # The closing time as people write it: local in the group's zone, or ISO with an offset.
    assert rules.parse_closing("2027-01-15T18:00", "Europe/Madrid") == datetime(
        2027, 1, 15, 17, 0, tzinfo=UTC
    )
    assert rules.parse_closing("2027-01-15T18:00Z", "Europe/Madrid") == datetime(
        2027, 1, 15, 18, 0, tzinfo=UTC
    )
    with pytest.raises(ProposalError, match="does not exist"):
        rules.parse_closing("2027-03-28T02:30", "Europe/Madrid")


def test_positions_a_block_needs_a_reason():
    assert rules.validate_position("consent", 0, "agree") == Position("agree", "")
    with pytest.raises(ProposalError, match="a block needs a reason") as e:
        rules.validate_position("consent", 0, "block", reason="  ")
    assert e.value.field == "reason"
    assert rules.validate_position("consent", 0, "block", reason="Too dear").choice == "block"
    assert rules.validate_position("choice", 3, "2").choice == 2
    for bad in ("3", "-1", "x", ""):
        with pytest.raises(ProposalError):
            rules.validate_position("choice", 3, bad)
    assert rules.validate_position("ranked", 3, ranks=["2", "", "1"]).choice == (2, 0)
    for ranks in (["1", "1", ""], ["", "", ""], ["4", "", ""], ["0", "", ""]):
        with pytest.raises(ProposalError):
            rules.validate_position("ranked", 3, ranks=ranks)
    assert rules.validate_position("score", 3, scores=["5", "", "3"]).choice == (5, 0, 3)
    with pytest.raises(ProposalError):
        rules.validate_position("score", 2, scores=["6", "0"])
    # What is stored reads back the same, and is checked against the proposal as stored.
    for position in (Position("disagree"), Position(1), Position((2, 0)), Position((5, 0, 3))):
        assert rules.decode_choice(rules.encode_choice(position)) == position.choice
    rules.check_position("ranked", 3, Position((2, 0)))
    for kind, position in (("choice", Position(3)), ("ranked", Position((0, 0))), ("score", Position((1,))),
                           ("consent", Position("block")), ("consent", Position("maybe"))):  # fmt: skip
        with pytest.raises(ProposalError):
            rules.check_position(kind, 3, position)


def test_consent_passes_without_blocks_and_a_quorum_can_be_unmet():
    agreed = rules.tally(
        "consent", (), [Position("agree"), Position("abstain"), Position("disagree", "meh")], None
    )
    assert agreed.result == "Passed: nobody blocks" and agreed.blocks == ()
    assert [(line.label, line.count) for line in agreed.lines] == [("Agree", 1), ("Abstain", 1), ("Disagree", 1),
                                                                  ("Block", 0)]  # fmt: skip
    blocked = rules.tally("consent", (), [Position("agree"), Position("block", "Too dear")], 2)
    assert blocked.result == "Blocked: 1 block" and blocked.blocks == ("Too dear",) and blocked.quorum_met
    short = rules.tally("consent", (), [Position("agree"), Position("agree")], 5)
    assert not short.quorum_met
    assert short.result == "Quorum not met: 2 of 5 needed took part (passed: nobody blocks)"
    assert rules.count_lines(short)[:3] == [short.result, "2 members took part (quorum 5)", "Agree: 2 votes"]
    assert rules.tally("consent", (), [], None).result == "Nobody took part"


def test_choice_and_score_count_and_report_ties():
    options = ("Library", "Park", "Hall")
    chosen = rules.tally("choice", options, [Position(1), Position(1), Position(0)], None)
    assert chosen.result == "Chosen: Park"
    tie = rules.tally("choice", options, [Position(1), Position(0)], None)
    assert tie.result == "Tie between Library and Park"
    scored = rules.tally("score", options, [Position((5, 0, 3)), Position((4, 2, 3))], None)
    assert [(line.count, line.detail) for line in scored.lines] == [(9, "average 4.5"), (2, "average 1.0"),
                                                                    (6, "average 3.0")]  # fmt: skip
    assert scored.result == "Highest score: Library"
    assert rules.count_lines(scored)[2] == "Library: 9 points, average 4.5"
    assert rules.tally("score", options, [Position((0, 0, 0))], None).result == "Nobody took part"


def test_instant_runoff_transfers_votes_and_breaks_ties_by_earlier_rounds():
    # Plurality would pick A (4 of 9 first preferences); C's voters prefer B, so B wins in round 2.
    ballots = [(0,)] * 4 + [(1,)] * 3 + [(2, 1)] * 2
    runoff = rules.instant_runoff(3, ballots)
    assert runoff.winner == 1 and len(runoff.rounds) == 2
    assert runoff.rounds[0].counts == (4, 3, 2) and runoff.rounds[0].eliminated == 2
    assert runoff.rounds[1].counts == (4, 5, None)
    # Options A=0, C=1, B=2, D=3. Round 1: A4 C2 B3 D1 → D goes, its ballot to C. Round 2: A4 C3 B3: C and B
    # tie for fewest; C had fewer in round 1, so C goes (not B, the one listed last), its ballots to B.
    ballots = [(0,)] * 4 + [(2,)] * 3 + [(1, 2)] * 2 + [(3, 1)]
    runoff = rules.instant_runoff(4, ballots)
    assert [r.eliminated for r in runoff.rounds] == [3, 1, None]
    assert runoff.rounds[2].counts == (4, None, 5, None) and runoff.rounds[2].exhausted == 1
    assert runoff.winner == 2
    # Tied in every round: the option listed last goes.
    assert [r.eliminated for r in rules.instant_runoff(3, [(0,), (0,), (1,), (2,)]).rounds][0] == 2
    # Everyone left equal: a tie, no winner.
    even = rules.instant_runoff(3, [(0,), (1,)])
    assert even.winner is None and even.tied in ((0, 1), (0, 1, 2))
    tally = rules.tally("ranked", ("A", "B", "C"), [Position(b) for b in [(0,)] * 4 + [(1,)] * 3 + [(2, 1)] * 2],
                        None)  # fmt: skip
    assert tally.result == "Ranked winner: B (instant-runoff, 2 rounds)"
    assert rules.count_lines(tally)[2:] == ["A: 4 votes in the last round", "B: 5 votes in the last round",
                                            "C: eliminated"]  # fmt: skip
    assert rules.tally_from_json(rules.tally_json(tally)) == tally


rankings = st.integers(min_value=1, max_value=5).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.permutations(range(n)).flatmap(lambda p: st.integers(1, len(p)).map(lambda k: tuple(p[:k]))),
                 max_size=25),
    )
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(rankings, st.randoms(use_true_random=False))
def test_instant_runoff_properties(case, random):
    options, ballots = case
    runoff = rules.instant_runoff(options, ballots)
    shuffled = list(ballots)
    random.shuffle(shuffled)
    assert rules.instant_runoff(options, shuffled) == runoff, "the order ballots came in does not matter"
    for round_ in runoff.rounds:
        assert sum(c for c in round_.counts if c is not None) + round_.exhausted == len(ballots)
    eliminated = {r.eliminated for r in runoff.rounds if r.eliminated is not None}
    if runoff.winner is not None:
        assert runoff.winner not in eliminated
        assert any(runoff.winner in b for b in ballots), "the winner is someone's preference"
        last = runoff.rounds[-1]
        assert last.counts[runoff.winner] * 2 > len(ballots) - last.exhausted, (
            "a majority of ballots counting"
        )
    firsts = [b[0] for b in ballots]
    for option in range(options):
        if firsts.count(option) * 2 > len(ballots):
            assert runoff.winner == option and len(runoff.rounds) == 1, "a first-round majority wins at once"
    if ballots:
        assert runoff.winner is not None or len(runoff.tied) >= 2
    else:
        assert runoff.winner is None and runoff.tied == ()


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 5).flatmap(
        lambda n: st.lists(st.lists(st.integers(0, 5), min_size=n, max_size=n), max_size=20)
    )
)
def test_score_totals_are_sums(ballots):  # fmt: skip
    if not ballots:
        return
    n = len(ballots[0])
    options = tuple(f"O{i}" for i in range(n))
    result = rules.tally("score", options, [Position(tuple(b)) for b in ballots], None)
    assert [line.count for line in result.lines] == [sum(b[i] for b in ballots) for i in range(n)]
    assert result.participants == len(ballots)


# -- through live servers -------------------------------------------------------------------------------------


MEMBERS = (("Ada Admin", "admin"), ("Olu Organizer", "organizer"), ("Mia Member", "member"),
           ("Rosa Canary", "member"), ("Ilse Quietname", "member"))  # fmt: skip
BLOCK_REASON = "Rosa's canary reason: the hall is not step-free"


@pytest.fixture
async def group(make_server):
    """A server on a movable clock, five members with passwords, and signed-in web clients on demand."""
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock}, timezone="Europe/Madrid")
    hashed = passwords.hash_password(PASSWORD)
    ids = {}
    for name, role in MEMBERS:
        ids[name] = await actions.add_member(server.runtime, name, role, None, hashed)
    clients: list[WebClient] = []

    async def signed_in(name: str | None) -> WebClient:
        c = WebClient(server.base_url)
        clients.append(c)
        if name is not None:
            await c.sign_in(name, PASSWORD)
        return c

    yield server, clock, ids, signed_in
    for c in clients:
        await c.close()


def local(moment: datetime) -> str:
    return moment.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Madrid")).strftime("%Y-%m-%dT%H:%M")


async def test_a_consent_proposal_with_a_block_a_changed_position_and_the_facilitators_work(group):
    server, clock, ids, signed_in = group
    mia, rosa, olu = (
        await signed_in("Mia Member"),
        await signed_in("Rosa Canary"),
        await signed_in("Olu Organizer"),
    )
    closes = clock() + timedelta(days=2)
    made = await mia.post("/proposals/new", {"title": "Rent the community hall", "body": "For the <b>meeting</b>.",
                                             "kind": "consent", "closes": local(closes), "quorum": ""})  # fmt: skip
    assert made.status == 200 and "The proposal is open" in made.text, made.text
    path = re.search(r"/proposals/\d+", made.url).group()
    pid = int(path.rsplit("/", 1)[1])
    assert "&lt;b&gt;meeting&lt;/b&gt;" in made.text, "the text is escaped, as a campaign's is"
    row = await server.runtime.db.read(store.proposals.proposal, pid)
    assert row.closes_at == closes.replace(second=0, microsecond=0), (
        "the form's time is the group's local time"
    )
    assert 'name="anonymous"' not in made.text, "only organizers may make a proposal anonymous"
    sneaky = await mia.post("/proposals/new", {"title": "T", "kind": "consent", "closes": local(closes),
                                               "anonymous": "yes"}, csrf_from="/proposals/new")  # fmt: skip
    assert sneaky.status == 422 and "Only an organizer may make a proposal anonymous" in sneaky.text

    async def position(client: WebClient, fields: dict[str, str]):
        return await client.post(f"{path}/position", fields, csrf_from=path)

    assert (await position(mia, {"position": "agree"})).status == 200
    no_reason = await position(rosa, {"position": "block", "reason": " "})
    assert (
        no_reason.status == 422
        and 'id="reason-error"' in no_reason.text
        and "A block needs a reason" in no_reason.text
    )
    assert (await position(rosa, {"position": "block", "reason": BLOCK_REASON})).status == 200
    assert (await position(olu, {"position": "disagree"})).status == 200
    # Olu changes his position: one position per member, the latest.
    changed = await position(olu, {"position": "abstain", "reason": "fine either way"})
    assert "You said: <strong>Abstain</strong>" in changed.text
    assert len(await server.runtime.db.read(store.proposals.named_positions, pid)) == 3

    page = (await mia.get(path)).text
    assert "Blocked: 1 block" in page and "Rosa&#39;s canary reason" in page
    assert re.search(r"<strong>Rosa Canary</strong> blocks:", page), "a block is shown with who and why"
    assert "Olu Organizer</td><td>Abstain" in page and "Disagree: 0 votes" in page
    # Nobody else sees any of it: an anonymous visitor is sent to sign in, a peer's fetch finds nothing.
    anon = await signed_in(None)
    for where in (path, "/proposals"):
        outside = await anon.get(where, allow_redirects=False)
        assert outside.status == 303 and outside.headers["Location"].startswith("/login"), where
        assert "canary" not in outside.text and "Rosa" not in outside.text
    assert (await anon.get(f"/decisions/{pid}")).status in (401, 404)

    # The facilitator: members cannot extend or close; the organizer extends, then closes early.
    assert (await mia.post(f"/organize/proposals/{pid}/close", {}, csrf_from=path)).status == 403
    earlier = await olu.post(f"/organize/proposals/{pid}/extend", {"closes": local(closes - timedelta(hours=1))},
                             csrf_from=path)  # fmt: skip
    assert earlier.status == 422 and "closes later than the proposal does now" in earlier.text
    later = closes + timedelta(days=1)
    extended = await olu.post(f"/organize/proposals/{pid}/extend", {"closes": local(later)}, csrf_from=path)
    assert extended.status == 200 and "The proposal closes later now" in extended.text
    row = await server.runtime.db.read(store.proposals.proposal, pid)
    assert row.closes_at == later.replace(second=0, microsecond=0)
    too_soon = await olu.post(f"/organize/proposals/{pid}/outcome", {"outcome": "x"}, csrf_from=path)
    assert too_soon.status == 422 and "Close the proposal before writing its outcome" in too_soon.text
    closed = await olu.post(f"/organize/proposals/{pid}/close", {}, csrf_from=path)
    assert closed.status == 200 and "The count when it closed" in closed.text
    assert f'action="{path}/position"' not in (await mia.get(path)).text, "no position form once closed"
    refused = await position(mia, {"position": "block", "reason": "too late"})
    assert refused.status == 422 and "This proposal is closed" in refused.text
    outcome = await olu.post(f"/organize/proposals/{pid}/outcome",
                             {"outcome": "We do not rent it; we look for a step-free hall."}, csrf_from=path)  # fmt: skip
    assert (
        outcome.status == 200
        and "we look for a step-free hall" in outcome.text
        and "Blocked: 1 block" in outcome.text
    )

    # The count is kept with the outcome: erasing a member who took part leaves it as it was.
    await actions.remove_member(server.runtime, ids["Rosa Canary"])
    state = await actions.proposals.load_proposal(server.runtime, pid)
    assert state.tally.result == "Blocked: 1 block" and state.tally.participants == 3
    assert [p.member_name for p in state.named] == ["Mia Member", "Olu Organizer"]

    # CSRF: a form without its token is refused and changes nothing.
    forged = await olu.post_raw(f"/organize/proposals/{pid}/publish", [("visibility", "public")])
    assert forged.status == 403
    assert (await server.runtime.db.read(store.proposals.proposal, pid)).published_at is None


async def test_the_scheduler_closes_at_the_closing_time_and_an_unmet_quorum_is_said(group):
    server, clock, ids, signed_in = group
    runtime = server.runtime
    pid = await actions.proposals.create_proposal(
        runtime, ids["Mia Member"], "Where to meet", "", "choice", ["Library", "Park"],
        clock() + timedelta(hours=1), quorum=3,
    )  # fmt: skip
    await actions.proposals.take_position(runtime, pid, ids["Mia Member"], Position(1))
    await actions.proposals.take_position(runtime, pid, ids["Olu Organizer"], Position(1))
    assert (await actions.proposals.load_proposal(runtime, pid)).is_open
    clock.advance(timedelta(hours=1, seconds=1))
    runtime.wake_scheduler()

    async def closed():
        row = await runtime.db.read(store.proposals.proposal, pid)
        return row if row.status == "closed" else None

    row = await eventually(closed)
    assert row.closed_at == row.closes_at, "closed at its closing time, however late the scheduler ran"
    state = await actions.proposals.load_proposal(runtime, pid)
    assert state.tally.result == "Quorum not met: 2 of 3 needed took part (chosen: park)"
    with pytest.raises(ProposalError, match="closed"):
        await actions.proposals.take_position(runtime, pid, ids["Ada Admin"], Position(0))
    page = await (await signed_in("Mia Member")).get(f"/proposals/{pid}")
    assert "Quorum not met: 2 of 3 needed took part" in page.text


async def test_an_anonymous_proposal_never_stores_who_took_which_position(group):
    server, clock, ids, signed_in = group
    runtime = server.runtime
    olu, rosa, ilse = (
        await signed_in("Olu Organizer"),
        await signed_in("Rosa Canary"),
        await signed_in("Ilse Quietname"),
    )
    made = await olu.post("/proposals/new", {"title": "Who should chair", "kind": "ranked", "option-0": "Ana",
                                             "option-1": "Ben", "option-2": "Cy", "anonymous": "yes",
                                             "closes": local(clock() + timedelta(days=1))})  # fmt: skip
    assert made.status == 200, made.text
    path = re.search(r"/proposals/\d+", made.url).group()
    pid = int(path.rsplit("/", 1)[1])

    async def rank(client: WebClient, ranks: list[str], reason: str, code: str | None = None):
        fields = {f"rank-{i}": r for i, r in enumerate(ranks)} | {"reason": reason}
        if code is not None:
            fields["change_code"] = code
        return await client.post(f"{path}/position", fields, csrf_from=path)

    reasons = {"Rosa Canary": "rosa-ballot-canary", "Ilse Quietname": "ilse-ballot-canary"}
    first = await rank(rosa, ["1", "2", ""], reasons["Rosa Canary"])
    assert first.status == 200 and "Your change code: <code>" in first.text
    rosa_code = re.search(r"Your change code: <code>([^<]+)</code>", first.text).group(1)
    await rank(ilse, ["", "1", "2"], reasons["Ilse Quietname"])
    await rank(olu, ["", "", "1"], "")
    # Rosa changes hers (her browser holds the code); a second position without the code is refused.
    changed = await rank(rosa, ["", "1", ""], reasons["Rosa Canary"])
    assert changed.status == 200 and "You said: <strong>1. Ben</strong>" in changed.text
    elsewhere = await signed_in("Rosa Canary")  # another device: no cookie
    again = await rank(elsewhere, ["1", "", ""], "second ballot")
    assert again.status == 422 and "give the change code you were shown" in again.text
    wrong = await rank(elsewhere, ["1", "", ""], "second ballot", code="not-her-code")
    assert wrong.status == 422
    with_code = await rank(elsewhere, ["", "1", ""], reasons["Rosa Canary"], code=rosa_code)
    assert with_code.status == 200
    # A shared computer: Ilse (who took part too) signs in on the browser Rosa used. Rosa's code there is not
    # hers: she neither sees Rosa's position nor changes it with it.
    await rosa.sign_in("Ilse Quietname", PASSWORD)
    shared = await rosa.get(path)
    assert (
        "You said" not in shared.text
        and "Your change code: <code>" not in shared.text
        and "1. Ben" not in shared.text
    )
    assert "give the change code you were shown" in shared.text
    misuse = await rank(rosa, ["1", "", ""], "ilse on rosa's browser")
    assert misuse.status == 422 and "give the change code you were shown" in misuse.text
    state = await actions.proposals.load_proposal(runtime, pid)
    assert state.tally.participants == 3 and state.named == ()
    assert state.tally.result == "Ranked winner: Ben (instant-runoff, 1 round)"
    page = (await olu.get(path)).text
    assert "not stored, so nobody can see it" in page and "Rosa Canary" not in page and "Ilse" not in page

    await actions.proposals.close_proposal(runtime, pid, ids["Olu Organizer"])
    shown = await run_cli("proposal", "show", str(pid), "--data-dir", str(server.config.data_dir))
    assert shown.returncode == 0 and "positions: anonymous, not stored with names" in shown.stdout
    assert "Rosa" not in shown.stdout and "Ilse" not in shown.stdout

    # The database file itself: a ballot row carries no member, no time; nothing joins the two tables.
    conn = sqlite3.connect(server.config.database_path)
    try:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(proposal_ballots)")]
        assert columns == ["proposal_id", "ballot_key", "choice", "reason"]
        participants = [r[1] for r in conn.execute("PRAGMA table_info(proposal_participants)")]
        assert participants == ["proposal_id", "member_id"]
        assert (
            conn.execute("SELECT COUNT(*) FROM proposal_positions WHERE proposal_id = ?", (pid,)).fetchone()[
                0
            ]
            == 0
        )
        ballots = conn.execute("SELECT ballot_key, choice, reason FROM proposal_ballots WHERE proposal_id = ?",
                               (pid,)).fetchall()  # fmt: skip
        assert len(ballots) == 3 and {b[2] for b in ballots} == {
            reasons["Rosa Canary"],
            reasons["Ilse Quietname"],
            "",
        }
        for key, _, _ in ballots:
            assert rosa_code not in key and re.fullmatch(r"[0-9a-f]{64}", key)
        # Both tables are stored in key order, not in the order people took part.
        assert (
            "WITHOUT ROWID"
            in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'proposal_ballots'").fetchone()[0]
        )
    finally:
        conn.close()
    # Nowhere in the file (WAL included) is a member's id or name stored near their position: the only
    # rows naming members for this proposal are the participants, which hold no choice.
    for table in ("proposal_ballots",):
        rows = await runtime.db.fetchall(f"SELECT * FROM {table} WHERE proposal_id = ?", (pid,))
        text = repr([tuple(r) for r in rows])
        for name in reasons:
            assert name not in text and f", {ids[name]}," not in text


async def test_the_published_outcome_carries_counts_only(group, peer, caplog):
    caplog.set_level(logging.DEBUG, logger="fedgroup")
    server, clock, ids, signed_in = group
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    olu, mia, rosa = (
        await signed_in("Olu Organizer"),
        await signed_in("Mia Member"),
        await signed_in("Rosa Canary"),
    )
    pid = await actions.proposals.create_proposal(
        runtime, ids["Mia Member"], "Join the tenants' coalition", "Members-only canary text", "consent", [],
        clock() + timedelta(days=1),
    )  # fmt: skip
    path = f"/proposals/{pid}"
    await mia.post(f"{path}/position", {"position": "agree", "reason": "mia-canary-comment"}, csrf_from=path)
    await rosa.post(f"{path}/position", {"position": "block", "reason": BLOCK_REASON}, csrf_from=path)
    await olu.post(f"/organize/proposals/{pid}/close", {}, csrf_from=path)
    unwritten = await olu.post(f"/organize/proposals/{pid}/publish", {"visibility": "public"}, csrf_from=path)
    assert unwritten.status == 422 and "Write the outcome before publishing it" in unwritten.text
    assert 'action="/organize/proposals/{pid}/publish"' not in unwritten.text.replace(str(pid), "{pid}")
    await olu.post(f"/organize/proposals/{pid}/outcome", {"outcome": "Not yet: we talk again in January."},
                   csrf_from=path)  # fmt: skip
    assert (
        await mia.post(f"/organize/proposals/{pid}/publish", {"visibility": "public"}, csrf_from=path)
    ).status == 403
    published = await olu.post(
        f"/organize/proposals/{pid}/publish", {"visibility": "followers"}, csrf_from=path
    )
    assert published.status == 200 and "on its way to followers" in published.text
    twice = await olu.post_raw(
        f"/organize/proposals/{pid}/publish", [("visibility", "public"), ("csrf", published.csrf)]
    )
    assert twice.status == 422 and "The outcome is published already" in twice.text

    creates = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create"
                                  and r.json["object"].get("id") == server.url(f"/decisions/{pid}"))  # fmt: skip
    assert len(creates) == 1 and creates[0].verified
    note = creates[0].json["object"]
    assert (
        note["type"] == "Note" and note["to"] == [server.url("/groups/water/followers")] and note["cc"] == []
    )
    assert "Decision: Join the tenants&#x27; coalition" in note["content"]
    assert "<p>Not yet: we talk again in January.</p>" in note["content"]
    assert "<p>Blocked: 1 block</p>" in note["content"] and "<p>Agree: 1 vote</p>" in note["content"]
    status, fetched = await peer.get(alice, server.url(f"/decisions/{pid}"))
    assert status == 200 and fetched["content"] == note["content"], "fetched later, it says the same"
    stranger = peer.add_actor("stranger", "peer-2")
    assert (await peer.get(stranger, server.url(f"/decisions/{pid}")))[0] == 403, "followers only"
    assert (await peer.get(alice, server.url(f"/decisions/{pid + 1}")))[0] == 404

    canaries = [name for name, _ in MEMBERS] + ["Rosa's canary", "canary reason", "mia-canary-comment",
                                                "Members-only canary text", "step-free"]  # fmt: skip
    received = "\n".join(r.body.decode() for r in peer.received)
    logs = caplog.text
    assert "proposal outcome published" in logs
    for canary in canaries:
        assert canary not in received, f"{canary!r} reached the peer"
        assert canary not in logs, f"{canary!r} is in the logs"


async def test_the_cli_creates_lists_shows_and_closes(group):
    server, clock, ids, signed_in = group
    data_dir = str(server.config.data_dir)
    closes = local(clock() + timedelta(days=1))
    made = await run_cli("proposal", "create", "--by", "Mia Member", "--title", "Paint the door", "--closes", closes,
                         "--kind", "score", "--option", "Red", "--option", "Blue", "--data-dir", data_dir)  # fmt: skip
    assert made.returncode == 0, made.stderr
    pid = int(re.match(r"proposal (\d+): ", made.stdout).group(1))
    assert made.stdout.strip().endswith(f"/proposals/{pid}")
    anon = await run_cli("proposal", "create", "--by", "Mia Member", "--title", "X", "--closes", closes,
                         "--anonymous", "--data-dir", data_dir)  # fmt: skip
    assert anon.returncode == 2 and "only an organizer may make a proposal anonymous" in anon.stderr
    past = await run_cli("proposal", "create", "--by", "Mia Member", "--title", "X", "--closes", "2001-01-01T10:00",
                         "--data-dir", data_dir)  # fmt: skip
    assert past.returncode == 2 and "in the past" in past.stderr
    await actions.proposals.take_position(server.runtime, pid, ids["Mia Member"], Position((4, 1)))
    listed = await run_cli("proposal", "list", "--data-dir", data_dir)
    assert listed.stdout.startswith(f"{pid}\topen\tscore\t") and listed.stdout.rstrip().endswith(
        "Paint the door"
    )
    shown = await run_cli("proposal", "show", str(pid), "--data-dir", data_dir)
    assert "Highest score: Red" in shown.stdout and "position: Mia Member: Red 4 · Blue 1" in shown.stdout
    refused = await run_cli("proposal", "close", str(pid), "--by", "Mia Member", "--data-dir", data_dir)
    assert refused.returncode == 2 and "only an organizer" in refused.stderr
    closed = await run_cli("proposal", "close", str(pid), "--by", "Olu Organizer", "--data-dir", data_dir)
    assert closed.returncode == 0 and closed.stdout.strip() == f"proposal {pid} closed: Highest score: Red"
    again = await run_cli("proposal", "close", str(pid), "--by", "Olu Organizer", "--data-dir", data_dir)
    assert again.returncode == 2 and "closed already" in again.stderr
    missing = await run_cli("proposal", "show", "999", "--data-dir", data_dir)
    assert missing.returncode == 2 and "no proposal 999" in missing.stderr
