"""The campaign rules (pure): validation with the field each error belongs to, formatting, and the
arithmetic of totals checked with hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedgroup.rules.aggregates import (
    AggregateRefused,
    Approval,
    check_aggregate,
    hold_reason,
    member_bound,
    members_at_most,
)
from fedgroup.rules.campaigns import (
    CampaignError,
    Contribution,
    Goal,
    PledgeOption,
    amount_text,
    format_quantity,
    is_open,
    option_contribution,
    parse_amount,
    parse_deadline,
    parse_goal,
    parse_option,
    validate_draft,
    validate_pledge,
)
from fedgroup.rules.tallies import (
    AggregateLine,
    GroupAggregate,
    MemberPledgeFacts,
    aggregate,
    outcome_lines,
    outcome_text,
    progress,
    progress_text,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
EUR = Goal("money", Decimal(1000), "EUR")
HOURS = Goal("hours", Decimal(40))


def draft(**changes):
    values = dict(
        title="Safe crossing",
        body="We need one.",
        goals=[EUR, HOURS],
        options=[PledgeOption("€20", "money", Decimal(20))],
        deadline=NOW + timedelta(days=7),
        visibility="public",
        now=NOW,
    )
    values.update(changes)
    return validate_draft(**values)


def test_a_good_draft():
    d = draft(title="  Safe crossing  ")
    assert d.title == "Safe crossing" and d.goals == (EUR, HOURS) and d.options[0].label == "€20"


@pytest.mark.parametrize(
    "changes,field,words",
    [
        ({"title": "   "}, "title", "needs a title"),
        ({"title": "x" * 201}, "title", "longer than 200"),
        ({"body": "x" * 20_001}, "body", "longer than"),
        ({"visibility": "secret"}, "visibility", "visibility"),
        ({"goals": []}, "goals", "need a goal"),
        ({"goals": [EUR, Goal("money", Decimal(5), "USD")]}, "goals", "once"),
        ({"options": [PledgeOption(str(i), "money", Decimal(1)) for i in range(5)]}, "options", "at most 4"),
        ({"options": [PledgeOption("", "money", Decimal(1))]}, "options", "needs a label"),
        ({"options": [PledgeOption("x" * 51, "money", Decimal(1))]}, "options", "at most 50"),
        (
            {"options": [PledgeOption("a", "money", Decimal(1)), PledgeOption("a", "hours", Decimal(1))]},
            "options",
            "two options",
        ),
        ({"options": [PledgeOption("Bring food", "items", Decimal(1))]}, "options", "no items goal"),
        ({"deadline": NOW - timedelta(seconds=1)}, "deadline", "in the past"),
        ({"deadline": NOW}, "deadline", "in the past"),
        ({"deadline": datetime(2030, 1, 1)}, "deadline", "time zone"),
    ],
)
def test_each_validation_error_names_its_field(changes, field, words):
    with pytest.raises(CampaignError) as e:
        draft(**changes)
    assert e.value.field == field
    assert words in str(e.value)


def test_members_campaigns_may_have_more_options_but_not_unlimited():
    options = [PledgeOption(f"Option {i}", "hours", Decimal(1)) for i in range(10)]
    assert len(draft(visibility="members", options=options).options) == 10
    with pytest.raises(CampaignError):
        draft(visibility="members", options=[PledgeOption(f"O{i}", "hours", Decimal(1)) for i in range(21)])


def test_control_characters_are_removed_from_titles():
    assert draft(title="Safe\u202e crossing\x00").title == "Safe crossing"


@pytest.mark.parametrize(
    "text,goal",
    [
        ("money:1000:EUR", Goal("money", Decimal(1000), "EUR")),
        ("money:99.50:usd", Goal("money", Decimal("99.50"), "USD")),
        ("hours:40", Goal("hours", Decimal(40))),
        ("hours:2.25", Goal("hours", Decimal("2.25"))),
        ("items:50:meals", Goal("items", Decimal(50), "meals")),
        ("items:50", Goal("items", Decimal(50), "items")),
        ("people:30", Goal("people", Decimal(30))),
    ],
)
def test_parse_goal(text, goal):
    assert parse_goal(text) == goal


@pytest.mark.parametrize(
    "text",
    [
        "money:1000",
        "money:1000:XXX",
        "money:-5:EUR",
        "money:0:EUR",
        "cats:3",
        "hours",
        "hours:1e3",
        "people:2.5",
        "items:1.5:meals",
        "hours:40:minutes",
        "money:1,000:EUR",
        "hours:NaN",
        "hours:Infinity",
        "money:10000000000:EUR",
        "hours:1.234",
    ],
)
def test_bad_goals(text):
    with pytest.raises(CampaignError) as e:
        parse_goal(text)
    assert e.value.field == "goals"


def test_parse_option_splits_on_the_last_equals_sign():
    assert parse_option("Bring food=items:1") == PledgeOption("Bring food", "items", Decimal(1))
    assert parse_option("1+1=2 hours=hours:2") == PledgeOption("1+1=2 hours", "hours", Decimal(2))
    assert parse_option("€20=money:20") == PledgeOption("€20", "money", Decimal(20))
    for bad in ("no equals", "x=money", "x=gold:3", "x=money:-1"):
        with pytest.raises(CampaignError):
            parse_option(bad)


def test_pledges():
    contribution, note = validate_pledge([EUR, HOURS], "hours", "2.5", "  I can drive\x00 ")
    assert contribution == Contribution("hours", Decimal("2.5")) and note == "I can drive"
    for kind, amount, note, field in [
        ("items", "1", "", "kind"),
        ("hours", "0", "", "amount"),
        ("hours", "abc", "", "amount"),
        ("hours", "1", "x" * 501, "note"),
    ]:
        with pytest.raises(CampaignError) as e:
            validate_pledge([EUR, HOURS], kind, amount, note)
        assert e.value.field == field


def test_options_match_votes_exactly():
    options = [PledgeOption("Pledge 10 EUR", "money", Decimal(10))]
    assert option_contribution(options, "Pledge 10 EUR") == Contribution("money", Decimal(10))
    assert option_contribution(options, "pledge 10 eur") is None
    assert option_contribution(options, "Pledge 10 EUR ") is None


def test_deadlines():
    assert parse_deadline("2026-12-24T18:00+01:00") == datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    assert parse_deadline("2026-12-24") == datetime(2026, 12, 24, 23, 59, 59, tzinfo=UTC)
    assert parse_deadline("2026-12-24T18:00:00Z").tzinfo is not None
    for bad in ("tomorrow", "2026-12-24T18:00", "2026-13-01"):
        with pytest.raises(CampaignError):
            parse_deadline(bad)
    assert is_open("open", None, NOW) and is_open("open", NOW + timedelta(1), NOW)
    assert not is_open("open", NOW, NOW) and not is_open("closed", None, NOW)


def test_formatting():
    assert format_quantity("money", Decimal(1000), "EUR") == "€1,000"
    assert format_quantity("money", Decimal("12.5"), "EUR") == "€12.50"
    assert format_quantity("money", Decimal(20), "CHF") == "CHF 20"
    assert format_quantity("hours", Decimal(1), None) == "1 hour"
    assert format_quantity("hours", Decimal("2.5"), None) == "2.5 hours"
    assert format_quantity("items", Decimal(1200), "meals") == "1,200 meals"
    assert format_quantity("people", Decimal(1), None) == "1 person"
    lines = progress([EUR, HOURS], [Contribution("money", Decimal(340)), Contribution("hours", Decimal(12))])
    assert progress_text(lines) == "€340 of €1,000 · 12 of 40 hours"
    assert [line.percent for line in lines] == [34, 30]
    outcome = outcome_lines(
        [EUR], [Contribution("money", Decimal(800))], [Contribution("money", Decimal(650))]
    )
    assert outcome_text(outcome) == "Goal €1,000: €800 pledged, €650 given"
    assert amount_text(Decimal("20.00")) == "20" and amount_text(Decimal("2.50")) == "2.5"


# -- properties -----------------------------------------------------------------------------------------

kinds = st.sampled_from(["money", "hours", "items", "people"])
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2)
contributions = st.lists(st.builds(Contribution, kinds, amounts), max_size=50)


@given(contributions, st.randoms())
def test_totals_are_exact_sums_whatever_the_order(items, rnd):
    goals = [Goal("money", Decimal(100), "EUR"), Goal("hours", Decimal(10))]
    shuffled = list(items)
    rnd.shuffle(shuffled)
    first, second = progress(goals, items), progress(goals, shuffled)
    assert first == second
    for line in first:
        assert line.pledged == sum((c.amount for c in items if c.kind == line.goal.kind), Decimal(0))


@given(contributions, contributions)
def test_totals_add_up_over_groups(a, b):
    """Adding partner groups' aggregates gives the same totals as adding every pledge one by one."""
    goals = [Goal("money", Decimal(100), "EUR"), Goal("hours", Decimal(10)), Goal("people", Decimal(5))]
    together = progress(goals, a + b)
    separately = [x.pledged + y.pledged for x, y in zip(progress(goals, a), progress(goals, b), strict=True)]
    assert [line.pledged for line in together] == separately


@given(contributions, st.builds(Contribution, st.just("items"), amounts))
def test_contributions_without_a_goal_change_nothing(items, stray):
    goals = [Goal("money", Decimal(100), "EUR")]
    assert progress(goals, items) == progress(goals, [*items, stray])


@given(amounts, amounts, st.decimals(min_value=Decimal(1), max_value=Decimal(10**6), places=0))
def test_percent_is_monotonic_and_bounded(x, y, target):
    goal = Goal("hours", target)
    low, high = sorted((x, y))
    p_low = progress([goal], [Contribution("hours", low)])[0].percent
    p_high = progress([goal], [Contribution("hours", high)])[0].percent
    assert 0 <= p_low <= p_high <= 100


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2))
def test_money_amounts_round_trip_through_their_json_form(amount):
    assert parse_amount("money", amount_text(amount)) == amount


@given(st.text(max_size=30))
def test_parse_amount_never_returns_nonsense(text):
    try:
        value = parse_amount("money", text)
    except CampaignError:
        return
    assert value.is_finite() and value > 0


# -- partner groups' aggregates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "published"),
    [(0, 10), (1, 10), (10, 10), (11, 20), (37, 50), (51, 100), (480, 500), (501, 1000)],
)
def test_a_group_publishes_its_size_rounded_up(count, published):
    assert members_at_most(count) == published


def test_member_bounds():
    assert member_bound(None) == 20, "a group that publishes nothing is believed for 20"
    assert member_bound(50) == 50
    assert member_bound(10**9) == 100_000, "no claim is believed past 100,000"


CROSSING_GOALS = (Goal("money", Decimal(500), "EUR"), Goal("hours", Decimal(40)))
CROSSING_OPTIONS = (
    PledgeOption("Give €20", "money", Decimal(20)),
    PledgeOption("Leaflet", "hours", Decimal(2)),
)


def aggregate_of(pledgers: int, *lines: tuple[str, str, str | None, int]) -> GroupAggregate:
    return GroupAggregate(
        pledgers, tuple(AggregateLine(Contribution(k, Decimal(a)), o, n) for k, a, o, n in lines)
    )


def test_what_our_own_aggregate_computes_passes_the_checks():
    ours = aggregate(
        [
            MemberPledgeFacts(1, Contribution("money", Decimal(20)), "Give €20"),
            MemberPledgeFacts(2, Contribution("money", Decimal(20)), "Give €20"),
            MemberPledgeFacts(2, Contribution("hours", Decimal(5)), None),
            MemberPledgeFacts(3, Contribution("hours", Decimal(2)), "Leaflet"),
        ]
    )
    assert check_aggregate(ours, CROSSING_GOALS, CROSSING_OPTIONS) == ours
    assert hold_reason(ours, CROSSING_GOALS, member_bound(None)) is None


@pytest.mark.parametrize(
    ("aggregate_", "reason"),
    [
        (aggregate_of(0, ("money", "20", None, 1)), "empty-aggregate"),
        (aggregate_of(2), "empty-aggregate"),
        (aggregate_of(2, ("people", "2", None, 2)), "unknown-goal"),
        (aggregate_of(2, ("money", "20", None, 0)), "line-without-pledgers"),
        (aggregate_of(2, ("money", "999", "Give €20", 1)), "option-mismatch"),
        (aggregate_of(2, ("hours", "20", "Give €20", 1)), "option-mismatch"),
        (aggregate_of(2, ("money", "20", "Give €20", 1), ("money", "20", "Give €20", 1)), "duplicate-line"),
        (
            aggregate_of(2, ("money", "20", None, 2), ("money", "40", "Give €20", 2)),
            "more-line-pledgers-than-pledgers",
        ),
    ],
)
def test_aggregates_no_fedgroup_would_send_are_refused(aggregate_, reason):
    with pytest.raises(AggregateRefused) as refused:
        check_aggregate(aggregate_, CROSSING_GOALS, CROSSING_OPTIONS)
    assert refused.value.reason == reason


def test_an_option_we_do_not_have_is_kept_as_an_amount_of_its_own():
    checked = check_aggregate(aggregate_of(1, ("money", "7", "Give €7", 1)), CROSSING_GOALS, CROSSING_OPTIONS)
    assert checked.lines[0].option is None and checked.lines[0].contribution.amount == Decimal(7)


def test_implausible_aggregates_are_held_until_approved():
    many = aggregate_of(50, ("money", "100", None, 50))
    assert hold_reason(many, CROSSING_GOALS, 20) == "more-pledgers-than-members"
    assert hold_reason(many, CROSSING_GOALS, 50) is None
    assert hold_reason(many, CROSSING_GOALS, 20, Approval(pledgers=50)) is None
    rich = aggregate_of(2, ("money", "500.01", None, 2))
    assert hold_reason(rich, CROSSING_GOALS, 20) == "more-than-the-goal"
    assert hold_reason(aggregate_of(2, ("money", "500", None, 2)), CROSSING_GOALS, 20) is None
    assert hold_reason(rich, CROSSING_GOALS, 20, Approval(2, {"money": Decimal(600)})) is None
    assert hold_reason(rich, CROSSING_GOALS, 20, Approval(2, {"hours": Decimal(600)})) == "more-than-the-goal"
