"""/billing/usage/: the chart and table of daily usage, the ledger with filters, the CSV export."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from credits.models import CreditAccount, EntryKind
from credits.selectors.ledger import _older, ledger_entries, ledger_position
from credits.services import ledger
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.credits.query_plans import fill_ledger, ledger_entries_read
from tests.credits.scenarios import event, grant
from tests.factories import MembershipFactory, OrganizationFactory, paid_purchase

pytestmark = pytest.mark.django_db


def record(events):
    return record_usage_batch(
        events=validate_usage_batch(payload={"events": events}), api_key=None, now=timezone.now()
    )


def record_calls(organization, count, *, prefix="e"):
    """`count` batches of one call each: `count` ledger entries, a moment apart."""
    for n in range(count):
        record([event(f"{prefix}{n}", organization)])


@pytest.fixture
def member_client(client):
    membership = MembershipFactory(role=Role.MEMBER)
    client.force_login(membership.user)
    client.organization = membership.organization
    return client


def test_empty_usage_page_renders(member_client):
    response = member_client.get(reverse("credits:usage"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "No usage in this range" in body
    assert "No ledger entries match" in body
    assert "<svg" not in body.split("<main>")[1].split("</main>")[0]


def test_usage_page_shows_chart_table_and_ledger(member_client):
    organization = member_client.organization
    now = timezone.now()
    grant(organization, amount_micros=5_000_000, now=now)
    record([
        event("a", organization, at=now, input_tokens=1_000_000),
        event("b", organization, at=now, model="document-parse", pages=12),
        event("c", organization, at=now - timedelta(days=1), input_tokens=2_000),
    ])

    response = member_client.get(reverse("credits:usage"))

    body = response.content.decode()
    assert response.status_code == 200
    assert '<svg viewBox="0 0 720 260" role="img"' in body
    assert "<rect" in body
    assert "Solar Pro 2" in body and "Document Parse" in body
    # $0.15 + $0.12 + $0.0003 charged in the range.
    assert "$0.270300" in body
    assert "$0.120000" in body
    assert "style=" not in body and "<script>" not in body
    rows = response.context["rows"]
    assert [(row.model_slug, row.events, row.cost_micros) for row in rows] == [
        ("solar-pro-2", 1, 300),
        ("solar-pro-2", 1, 150_000),
        ("document-parse", 1, 120_000),
    ]
    # The grant, then one entry per model for the batch.
    assert len(response.context["ledger_page"].object_list) == 3
    assert "Staff adjustment" in body
    assert "Solar Pro 2 usage, 2 calls" in body
    assert "Document Parse usage, 1 call" in body


def test_free_usage_shows_in_the_table_but_not_the_chart(member_client):
    organization = member_client.organization
    record([event("zero", organization, input_tokens=0)])

    response = member_client.get(reverse("credits:usage"))

    assert "nothing to chart" in response.content.decode()
    assert len(response.context["rows"]) == 1


def test_date_range_selects_the_days(member_client):
    organization = member_client.organization
    old = datetime(2026, 1, 10, 12, tzinfo=UTC)
    record([
        event("old", organization, at=old),
        event("new", organization, at=timezone.now()),
    ])

    response = member_client.get(reverse("credits:usage"), {"start": "2026-01-10", "end": "2026-01-10"})

    rows = response.context["rows"]
    assert [(row.day.isoformat(), row.events) for row in rows] == [("2026-01-10", 1)]


def test_invalid_range_shows_an_error_and_the_default_range(member_client):
    response = member_client.get(reverse("credits:usage"), {"start": "2026-02-01", "end": "2026-01-01"})

    assert response.status_code == 200
    assert "must not be after" in response.content.decode()
    chosen = response.context["chosen"]
    assert (chosen.end - chosen.start).days == 29


def _ledger(client, **query):
    response = client.get(reverse("credits:usage"), {"kind": EntryKind.USAGE, **query})
    return response, response.context["ledger_page"]


def test_ledger_filters_by_kind_and_pages_by_position(member_client):
    organization = member_client.organization
    now = timezone.now()
    grant(organization, amount_micros=1_000_000, now=now)
    # Ten batches at one moment: pages must split ties by id, losing and repeating none.
    for n in range(30):
        at = now if n < 10 else now + timedelta(seconds=n)
        batch = validate_usage_batch(payload={"events": [event(f"e{n}", organization)]})
        record_usage_batch(events=batch, api_key=None, now=at)

    newest_response, newest = _ledger(member_client)
    older_response, older = _ledger(member_client, before=newest.older)
    _response, back = _ledger(member_client, after=older.newer)

    assert (len(newest.object_list), newest.newer) == (25, None)
    assert (len(older.object_list), older.older) == (5, None)
    assert {entry.kind for entry in [*newest, *older]} == {EntryKind.USAGE}
    assert len({entry.pk for entry in [*newest, *older]}) == 30
    assert [entry.pk for entry in back] == [entry.pk for entry in newest]
    assert (back.newer, back.older) == (None, newest.older)
    newest_html, older_html = newest_response.content.decode(), older_response.content.decode()
    assert f'href="?kind=usage&amp;before={newest.older}" rel="next">Older entries' in newest_html
    assert "Newer entries" not in newest_html and "Newest entries" not in newest_html
    assert f'href="?kind=usage&amp;after={older.newer}" rel="prev">Newer entries' in older_html
    assert 'href="?kind=usage">Newest entries' in older_html
    assert "Older entries" not in older_html
    assert f"Entries from {older.object_list[0].created_at:%Y-%m-%d %H:%M} and older" in older_html
    # The CSV links take the filters, not the position.
    assert "usage/ledger.csv?kind=usage\"" in older_html


def test_the_ledger_links_drop_an_old_page_number_and_the_other_position(member_client):
    organization = member_client.organization
    record_calls(organization, 60)
    _response, newest = _ledger(member_client)
    _response, second = _ledger(member_client, before=newest.older)

    response, third = _ledger(member_client, after="1.1", before=second.older, page="7")

    html = response.content.decode()
    _response, without = _ledger(member_client, before=second.older)
    assert [entry.pk for entry in third] == [entry.pk for entry in without]
    assert "page=" not in html and "after=1.1" not in html
    assert f'href="?kind=usage&amp;after={third.newer}" rel="prev"' in html


def test_links_are_there_only_when_entries_are(member_client):
    """A position outside the ledger (or the filter's range) bounds the page; it does not
    make up a Newer or Older page that would turn out empty."""
    organization = member_client.organization
    record_calls(organization, 30)
    entries = [entry.pk for entry in ledger_entries(organization=organization)]

    _response, future = _ledger(member_client, before="9" * 17 + ".1")
    _response, ancient = _ledger(member_client, after="0.0")

    assert ([entry.pk for entry in future], future.newer) == (entries[:25], None)
    assert ([entry.pk for entry in ancient], ancient.older, ancient.newer is not None) == (
        entries[5:], None, True
    )


def test_a_position_from_another_organizations_entry_shows_only_ones_own(member_client):
    organization = member_client.organization
    theirs = OrganizationFactory()
    record_calls(organization, 30)
    record_calls(theirs, 30, prefix="t")
    their_entry = ledger_entries(organization=theirs)[10]

    _response, page = _ledger(member_client, before=ledger_position(their_entry))

    mine = {entry.pk for entry in ledger_entries(organization=organization)}
    assert page.object_list and {entry.pk for entry in page} <= mine


def test_ledger_pages_stay_put_while_usage_arrives(member_client):
    """Positions, not offsets: the older page shows the same entries after new usage (an
    offset would shift them by as many new entries), and going back up ends on the newest
    page, whole, not on a page of just the new entries."""
    organization = member_client.organization
    record_calls(organization, 30)
    _response, newest = _ledger(member_client)
    _response, older = _ledger(member_client, before=newest.older)
    record_calls(organization, 4, prefix="late")

    _response, again = _ledger(member_client, before=newest.older)
    _response, up = _ledger(member_client, after=older.newer)
    _response, top = _ledger(member_client, after=up.newer)

    assert [entry.pk for entry in again] == [entry.pk for entry in older]
    assert up.newer is not None
    assert [entry.pk for entry in top] == [entry.pk for entry in _ledger(member_client)[1]]
    assert (len(top.object_list), top.newer) == (25, None)


def test_a_position_that_is_not_one_or_past_the_ends_shows_the_newest_page(member_client):
    organization = member_client.organization
    record_calls(organization, 30)
    _response, newest = _ledger(member_client)
    newest_entry = newest.object_list[0]

    def shown(**query) -> list[int]:
        response, page = _ledger(member_client, **query)
        assert response.status_code == 200
        return [entry.pk for entry in page]

    newest_pks = [entry.pk for entry in newest]
    for bad in ("two", "1.2.3", "-5.3", "5", "\u0663.1", "9" * 40 + ".1", "9" * 18 + ".1", ""):
        assert shown(before=bad) == newest_pks, bad
        assert shown(after=bad) == newest_pks, bad
    # Older than the oldest entry, newer than the newest: nothing there, so the newest page.
    assert shown(before="0.0") == newest_pks
    assert shown(after=ledger_position(newest_entry)) == newest_pks
    # An old link by page number shows the newest page.
    assert shown(page="2") == newest_pks


@pytest.mark.postgres
def test_a_deep_ledger_page_and_a_rare_kind_read_only_their_own_entries(member_client):
    """A page far down the ledger starts at its position on the (account, created_at, id)
    index, and a rare kind reads only entries of that kind (the (account, kind, created_at,
    id) index): neither walks the account's other entries, which number in the millions for
    an account with per-call history."""
    organization = member_client.organization
    now = timezone.now()
    paid_purchase(organization, 1_000, now - timedelta(days=2))
    grant(organization, amount_micros=10_000_000, now=now - timedelta(days=2))
    fill_ledger(CreditAccount.objects.get(organization=organization), 1_000)
    entries = ledger_entries(organization=organization)
    deep = entries[500]

    # About a page (the page, the one more that tells an older page exists, the entry it
    # starts from, a row the plan reads ahead), not the 500 entries on either side.
    assert ledger_entries_read(_older(entries, deep.created_at, deep.pk)[:26]) <= 30
    assert ledger_entries_read(ledger_entries(organization=organization, kind=EntryKind.ADJUSTMENT)[:26]) == 1


def test_the_ledger_is_paged_without_counting_it(member_client):
    """A count of the ledger grows with it: a million per-call entries took longer than the
    rest of the page. The page reads one entry past its own to know there is an older one."""
    organization = member_client.organization
    record_calls(organization, 30)

    with CaptureQueriesContext(connection) as captured:
        response = member_client.get(reverse("credits:usage"))

    assert response.context["ledger_page"].older
    assert not [query for query in captured.captured_queries if "COUNT(" in query["sql"].upper()]


def test_page_queries_stay_constant_in_the_number_of_entries(member_client):
    organization = member_client.organization
    record([event("first", organization)])
    member_client.get(reverse("credits:usage"))  # warm the session

    with CaptureQueriesContext(connection) as few:
        member_client.get(reverse("credits:usage"))
    record([
        event(f"e{n}", organization, model=model, at=timezone.now() - timedelta(days=n % 20), **units)
        for n, (model, units) in enumerate(
            [("solar-pro-2", {"input_tokens": 10}), ("document-parse", {"pages": 1})] * 100
        )
    ])
    with CaptureQueriesContext(connection) as many:
        member_client.get(reverse("credits:usage"))

    assert len(many.captured_queries) == len(few.captured_queries)


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_csv_export_streams_only_own_rows(member_client):
    mine = member_client.organization
    theirs = OrganizationFactory()
    record(
        [
            event("mine-1", mine),
            event("theirs-1", theirs, input_tokens=2_000),
            event("mine-2", mine, output_tokens=10),
        ]
    )

    response = member_client.get(reverse("credits:usage_ledger_csv"))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"ledger-{mine.pk}-" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:5] == ["created_at", "kind", "lot", "amount_usd", "amount_micros"]
    assert rows[0][9:12] == ["description", "model", "calls"]
    # mine-1 and mine-2 in one entry of the batch: 150 + 6 micro-dollars.
    assert [(row[3], row[4], row[9], row[10], row[11]) for row in rows[1:]] == [
        ("-0.000156", "-156", "Solar Pro 2 usage, 2 calls", "solar-pro-2", "2")
    ]


def test_csv_export_applies_the_filters(member_client):
    organization = member_client.organization
    grant(organization, amount_micros=1_000, now=timezone.now())
    record([event("u", organization)])

    rows = _csv(member_client.get(reverse("credits:usage_ledger_csv"), {"kind": EntryKind.ADJUSTMENT}))

    assert [row[1] for row in rows[1:]] == ["adjustment"]


def test_csv_neutralizes_spreadsheet_formulas(member_client):
    organization = member_client.organization
    ledger.adjust_credits(
        organization=organization,
        amount_micros=5,
        reason="=HYPERLINK(1)",
        created_by=None,
        now=timezone.now(),
    )

    rows = _csv(member_client.get(reverse("credits:usage_ledger_csv")))

    assert rows[1][8] == "'=HYPERLINK(1)"


def test_every_input_of_the_filter_form_has_a_label(member_client):
    body = member_client.get(reverse("credits:usage")).content.decode()

    for name in ("start", "end", "kind"):
        assert f'for="id_{name}"' in body


def test_usage_csv_lists_calls_units_and_cost_per_model_and_day(member_client):
    organization = member_client.organization
    now = timezone.now().replace(hour=12)
    record([
        event("a", organization, at=now, input_tokens=1_000, output_tokens=100),
        event("b", organization, at=now, input_tokens=1_000),
        event("c", organization, at=now - timedelta(days=1), model="document-parse", pages=4),
        event("theirs", OrganizationFactory(), at=now),
    ])

    response = member_client.get(reverse("credits:usage_csv"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"usage-{organization.pk}-" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == [
        "day", "model", "model_name", "calls", "input_tokens", "output_tokens", "pages",
        "cost_usd", "cost_micros",
    ]
    yesterday, today = (now - timedelta(days=1)).date().isoformat(), now.date().isoformat()
    assert rows[1:] == [
        [yesterday, "document-parse", "Document Parse", "1", "0", "0", "4", "0.040000", "40000"],
        [today, "solar-pro-2", "Solar Pro 2", "2", "2000", "100", "0", "0.000360", "360"],
    ]
