"""Low-balance and budget alerts: one e-mail per crossing (with hysteresis), checked after
usage commits and by the jobs, never once per call."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from credits.models import AlertSent, AlertSettings
from credits.services.alerts import check_alerts, check_all_alerts
from credits.services.billing_settings import AlertsInput, alert_settings_save
from credits.services.jobs import run_due_jobs
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.factories import MembershipFactory, paid_purchase

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 10, 12, tzinfo=UTC)
DOLLAR = 1_000_000
_ids = count()


@pytest.fixture
def organization(db):
    owner = MembershipFactory(role=Role.OWNER, user__email="owner@alerts.example")
    MembershipFactory(organization=owner.organization, role=Role.MEMBER, user__email="dev@alerts.example")
    return owner.organization


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Runs what a block registers on commit (usage lands, then its alert check)."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def use(organization, cents: int, now: datetime, *, events: int = 1):
    """Usage of Document Parse ($0.01 a page) worth `cents`, in one batch of `events` calls."""
    pages = [cents // events] * events
    pages[0] += cents - sum(pages)
    payload = {"events": [
        {"event_id": f"e{next(_ids)}", "organization": organization.pk, "model": "document-parse",
         "pages": n, "occurred_at": now.isoformat()}
        for n in pages
    ]}
    return record_usage_batch(events=validate_usage_batch(payload=payload), api_key=None, now=now)


def alerts(subject_start: str) -> list:
    return [m for m in mail.outbox if m.subject.startswith(subject_start)]


def _threshold(organization, dollars: int, now=START):
    alert_settings_save(
        organization=organization,
        alerts=AlertsInput(low_balance_mode="amount", low_balance_threshold_micros=dollars * DOLLAR),
        user=None,
        now=now,
    )


def test_low_balance_once_per_crossing_with_hysteresis(organization, run_on_commit):
    paid_purchase(organization, 9_900, START - timedelta(days=1))  # $99, no bonus under $100
    _threshold(organization, 50)
    now = START

    def at(minutes):
        return now + timedelta(minutes=minutes)

    run_on_commit(use, organization, 4_000, at(1))  # $59: above
    assert alerts("Low balance") == []
    run_on_commit(use, organization, 1_500, at(2))  # $44: crossed down
    [first] = alerts("Low balance")
    assert "Balance $44.00, below your alert at $50.00." in first.body
    assert first.to == ["owner@alerts.example"]
    run_on_commit(use, organization, 1_000, at(3))  # $34: still below
    run_on_commit(use, organization, 10, at(4))
    assert len(alerts("Low balance")) == 1

    # A top-up to $50.90 is not clearly above $50 (hysteresis): dipping again sends nothing.
    run_on_commit(paid_purchase, organization, 1_700, at(5))
    run_on_commit(use, organization, 500, at(6))
    assert len(alerts("Low balance")) == 1

    # Back well above, then down again: another alert.
    run_on_commit(paid_purchase, organization, 5_000, at(7))  # $95.90
    run_on_commit(use, organization, 5_000, at(8))  # $45.90
    assert len(alerts("Low balance")) == 2
    assert AlertSent.objects.filter(organization=organization).count() == 2


def test_up_and_down_between_two_checks_still_alerts_again(organization, run_on_commit):
    paid_purchase(organization, 10_000, START - timedelta(days=1))
    _threshold(organization, 50)
    run_on_commit(use, organization, 6_000, START + timedelta(minutes=1))  # $40: alert
    # A purchase whose own check did not run (a crash), then usage below again.
    paid_purchase(organization, 10_000, START + timedelta(minutes=2))  # $140
    run_on_commit(use, organization, 10_000, START + timedelta(minutes=3))  # $40

    assert len(alerts("Low balance")) == 2


def test_a_batch_of_1000_events_crossing_sends_one(organization, run_on_commit):
    paid_purchase(organization, 10_000, START - timedelta(days=1))
    _threshold(organization, 50)

    run_on_commit(use, organization, 9_000, START + timedelta(minutes=1), events=1_000)

    assert len(alerts("Low balance")) == 1


def _funded_with_a_days_alert(organization, cents: int):
    """Bought `cents` ten days ago, with an alert below 7 days left at the current rate."""
    paid_purchase(organization, cents, START - timedelta(days=10))
    alert_settings_save(
        organization=organization,
        alerts=AlertsInput(low_balance_mode="days", low_balance_days=7),
        user=None,
        now=START - timedelta(days=10),
    )


def test_days_left_alert_at_the_current_rate(organization, run_on_commit):
    _funded_with_a_days_alert(organization, 9_900)  # $99
    # $8 a day for 5 days: $59 left is 7 days at that rate; a sixth day leaves $51, 6 days.
    for day in range(5):
        run_on_commit(use, organization, 800, START - timedelta(days=5 - day))
    assert alerts("Low balance") == []
    run_on_commit(use, organization, 800, START)

    [message] = alerts("Low balance")
    assert "About 6 days of usage left" in message.body


def test_days_left_is_the_credit_pages_forecast_and_waits_for_a_rate(organization, run_on_commit):
    """One rule for "the current rate": the alert, the settings page and the credit page's
    forecast say the same number, and none of them guesses from one or two days of usage."""
    from credits.selectors.alerts import alerts_overview
    from credits.selectors.usage import usage_forecast

    _funded_with_a_days_alert(organization, 3_000)  # $30
    # $10 on each of two days leaves $10: a day at that rate, but two days are not a rate yet.
    run_on_commit(use, organization, 1_000, START - timedelta(days=1))
    run_on_commit(use, organization, 1_000, START)
    assert alerts("Low balance") == []
    assert alerts_overview(organization=organization, now=START).days_left is None

    later = START + timedelta(days=1)
    run_on_commit(use, organization, 500, later)  # a third day: $25 over 3 days, $5 left

    forecast = usage_forecast(organization_id=organization.pk, balance_micros=5 * DOLLAR, today=later.date())
    assert forecast.days_left == 0  # $5 at $8.33 a day
    assert alerts_overview(organization=organization, now=later).days_left == forecast.days_left
    [message] = alerts("Low balance")
    assert "Less than a day of usage left" in message.body


def test_days_left_alert_when_usage_has_used_everything_up(organization, run_on_commit):
    # One day of usage is no rate, but nothing left (or a debt) is no days left.
    _funded_with_a_days_alert(organization, 1_000)  # $10
    run_on_commit(use, organization, 1_500, START)  # $15: $5 owed

    [message] = alerts("Low balance")
    assert "Less than a day of usage left" in message.body


def test_budget_alerts_at_50_80_and_100_percent_once_each_per_month(organization, run_on_commit):
    paid_purchase(organization, 100_000, START - timedelta(days=1))
    alert_settings_save(
        organization=organization, alerts=AlertsInput(low_balance_mode="off", budget_micros=100 * DOLLAR),
        user=None, now=START,
    )

    run_on_commit(use, organization, 4_900, START)  # $49
    assert alerts("Usage budget") == []
    run_on_commit(use, organization, 200, START + timedelta(hours=1))  # $51
    run_on_commit(use, organization, 100, START + timedelta(hours=2))  # $52
    assert [m.subject.split(" (")[0] for m in alerts("Usage budget")] == ["Usage budget: 50% used this month"]
    # One batch past both 80% and 100% sends the highest only.
    run_on_commit(use, organization, 6_000, START + timedelta(hours=3))  # $112
    run_on_commit(use, organization, 100, START + timedelta(hours=4))
    assert [m.subject.split(" (")[0] for m in alerts("Usage budget")] == [
        "Usage budget: 50% used this month", "Usage budget: 100% used this month",
    ]

    # A new month starts from zero.
    april = datetime(2026, 4, 1, 1, tzinfo=UTC)
    run_on_commit(use, organization, 4_000, april)
    assert len(alerts("Usage budget")) == 2
    run_on_commit(use, organization, 4_100, april + timedelta(hours=1))  # $81 in April
    assert alerts("Usage budget")[-1].subject.startswith("Usage budget: 80% used")
    assert len(alerts("Usage budget")) == 3


def test_the_job_catches_what_no_usage_batch_checked_and_twice_sends_once(organization, run_on_commit):
    paid_purchase(organization, 10_000, START - timedelta(days=1))
    _threshold(organization, 50)
    # Usage recorded without its post-commit check (the process died after commit).
    use(organization, 6_000, START)
    mail.outbox.clear()

    assert run_on_commit(check_all_alerts, now=START + timedelta(minutes=1)) == 1
    run_on_commit(run_due_jobs, now=START + timedelta(minutes=2), only=["balance_alerts"])

    assert len(alerts("Low balance")) == 1


def test_organizations_without_alerts_get_none(organization, run_on_commit):
    paid_purchase(organization, 1_000, START - timedelta(days=1))
    run_on_commit(use, organization, 1_000, START)

    assert mail.outbox == []
    assert not AlertSettings.objects.exists()


def test_a_batch_of_an_organization_without_alerts_runs_no_alert_query(
    organization, run_on_commit, settings, django_capture_on_commit_callbacks
):
    settings.PROCESS_CACHE_SECONDS = 3_600  # a running worker's warm cache
    paid_purchase(organization, 1_000, START - timedelta(days=1))
    run_on_commit(use, organization, 100, START)  # warms the cache

    with django_capture_on_commit_callbacks() as callbacks:
        use(organization, 100, START)
    with CaptureQueriesContext(connection) as after_commit:
        for callback in callbacks:
            callback()

    assert after_commit.captured_queries == []


def test_an_alert_saved_with_a_warm_cache_is_checked_at_once(organization, run_on_commit, settings):
    # The saving process forgets its cache of who has alerts on commit: the check that
    # follows the save (and the next batch) sees the new alert, not the cached "nobody".
    settings.PROCESS_CACHE_SECONDS = 3_600
    paid_purchase(organization, 1_000, START - timedelta(days=1))  # $10
    run_on_commit(use, organization, 100, START)  # warms the cache: no alerts anywhere

    run_on_commit(_threshold, organization, 20, START)  # above the $9 left: alerts now

    assert len(alerts("Low balance")) == 1


def test_settings_page_saves_details_and_alerts_and_shows_the_last_alert(client, run_on_commit):
    owner = MembershipFactory(role=Role.OWNER)
    organization = owner.organization
    paid_purchase(organization, 10_000, START - timedelta(days=1))
    client.force_login(owner.user)
    url = reverse("credits:billing_settings")

    response = client.post(url, {
        "legal_name": "Settings Co LLC", "address": "1 Main St", "country": "United States",
        "tax_id": "", "billing_email": "ap@settings.example", "save_details": "1",
    })
    assert response.status_code == 302
    response = run_on_commit(client.post, url, {
        "alerts-low_balance_mode": "amount", "alerts-low_balance_threshold": "150",
        "alerts-low_balance_days": "7", "alerts-budget": "", "save_alerts": "1",
    })
    assert response.status_code == 302

    page = client.get(url).content.decode()
    # $100 is already below the new $150 line: the alert went out on saving.
    assert len(alerts("Low balance")) == 1
    assert "below your alert at $150.00" in page
    assert 'value="Settings Co LLC"' in page
    bad = client.post(url, {"alerts-low_balance_mode": "amount", "alerts-low_balance_threshold": "",
                            "save_alerts": "1"})
    assert bad.status_code == 400
    assert "Enter the balance that triggers the alert." in bad.content.decode()


def test_a_budget_changed_after_a_level_was_sent_keeps_alerting_everyone(run_on_commit):
    """The 50% alert went out, then the customer raised the budget (still past 50%): that
    level is not sent twice in the month, the check does not fail on it, and the other
    organizations' alerts still go out (one organization's fault stopped the job's others)."""
    raised = MembershipFactory(role=Role.OWNER, user__email="owner@a.example").organization
    other = MembershipFactory(role=Role.OWNER, user__email="owner@b.example").organization
    for organization in (raised, other):
        paid_purchase(organization, 9_900, START - timedelta(days=1))
    budget = AlertsInput(low_balance_mode="off", budget_micros=100 * DOLLAR)
    run_on_commit(alert_settings_save, organization=raised, alerts=budget, user=None, now=START)
    run_on_commit(_threshold, other, 50)
    run_on_commit(use, raised, 6_000, START + timedelta(minutes=1))  # $60 of $100: 50%
    raised_budget = AlertsInput(low_balance_mode="off", budget_micros=110 * DOLLAR)
    run_on_commit(alert_settings_save, organization=raised, alerts=raised_budget, user=None,
                  now=START + timedelta(minutes=2))
    use(other, 6_000, START + timedelta(minutes=3))  # its own check not run: the job's to catch

    run_on_commit(check_all_alerts, now=START + timedelta(minutes=4))
    run_on_commit(use, raised, 3_000, START + timedelta(minutes=5))  # $90 of $110: 81%

    assert [m.subject for m in alerts("Usage budget")] == [
        f"Usage budget: 50% used this month ({raised.name})",
        f"Usage budget: 80% used this month ({raised.name})",
    ]
    assert len(alerts("Low balance")) == 1


def test_the_jobs_earlier_now_does_not_make_one_crossing_alert_twice(organization, run_on_commit):
    """The jobs' run takes its `now` when it starts; a batch committed meanwhile crosses the
    threshold. The job's alert, stamped with that earlier time, must not see the batch's own
    entries (its first ones stood above the re-arm level) as the balance going back up when
    the batch's check follows."""
    paid_purchase(organization, 10_000, START - timedelta(days=1))  # $103: a bonus and a paid lot
    run_on_commit(_threshold, organization, 50, START - timedelta(days=1))
    use(organization, 6_000, START + timedelta(seconds=30))  # $43 left; its check comes last

    run_on_commit(check_all_alerts, now=START)
    run_on_commit(check_alerts, organization_ids=[organization.pk], now=START + timedelta(seconds=30))

    assert len(alerts("Low balance")) == 1
