"""The public pricing page: tiers per period, FAQ, the estimator over GET and htmx, Enterprise form."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from credits.models import BillingPolicy, EnterpriseInquiry, TierThreshold

pytestmark = pytest.mark.django_db

PRICING = "/pricing/"


def test_monthly_tiers_show_thresholds_bonus_limits_and_support(client):
    response = client.get(PRICING)

    html = response.content.decode()
    assert response.status_code == 200
    for text in [
        "$100.00+",
        "$500.00+",
        "$5,000.00+",
        "+3% on a purchase of $100.00",
        "+10% on a purchase of $5,000.00",
        "Tier 1, for example Solar Pro 2 30 requests/s and Information Extract 10 requests/s",
        "Tier 3, for example Solar Pro 2 80 requests/s and Information Extract 40 requests/s",
        "Community:",
        "Priority:",
        "Custom pricing",
        'href="/billing/rate-limits/">View all model limits',
    ]:
        assert text in html, text


def test_yearly_tiers_without_javascript(client):
    html = client.get(PRICING, {"period": "yearly"}).content.decode()

    assert "$1,200.00+" in html
    assert "$6,000.00+" in html
    assert "$60,000.00+" in html
    assert "prepaid per year" in html


def test_thresholds_follow_the_staff_edited_rows(client):
    TierThreshold.objects.filter(tier="build", period="monthly").update(min_amount_cents=45_000)

    assert "$450.00+" in client.get(PRICING).content.decode()


def test_period_switch_over_htmx_returns_only_the_tier_table(client):
    response = client.get(
        PRICING, {"period": "yearly"}, headers={"HX-Request": "true", "HX-Target": "tiers"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="tiers"')
    assert "$1,200.00+" in html
    assert "<html" not in html


def test_legacy_note_uses_the_policy_dates(client):
    policy = BillingPolicy.current()
    policy.legacy_until = policy.legacy_until.replace(year=2099)
    policy.save()

    html = client.get(PRICING).content.decode()

    assert "created before November 4, 2025 keep their Legacy rate limits until January 6, 2099" in html


def test_faq_covers_the_promised_topics_with_the_refund_anchor(client):
    html = client.get(PRICING).content.decode()

    assert '<h3 id="refund-policy">' in html
    for topic in [
        "auto-recharge",
        "When do bonus credits expire?",
        "How do the tiers work?",
        "Can I get a refund?",
        "How can I pay?",
        "What happens when my credits run out?",
        "Your API calls keep working",
    ]:
        assert topic in html, topic


def test_estimator_without_javascript_renders_the_whole_page_with_the_result(client):
    response = client.get(
        PRICING, {"document-parse-pages": "50000", "solar-pro-2-input": "1.5", "peak_rps": "5"}
    )

    html = response.content.decode()
    assert "<html" in html
    # 50,000 pages x $0.01 + 1.5M tokens x $0.15/1M = $500.225 -> $500.23 to buy: Build.
    assert '<strong class="big" id="estimate-cost">$500.23</strong>' in html
    assert '<strong id="suggested-tier">Build</strong>' in html
    assert '<strong id="suggested-bonus">$25.01</strong>' in html


def test_estimator_over_htmx_returns_only_the_result(client):
    response = client.get(
        PRICING,
        {"document-parse-pages": "9999", "peak_rps": "0"},
        headers={"HX-Request": "true", "HX-Target": "estimate-result"},
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="estimate-result"')
    assert '<strong id="suggested-tier">No tier</strong>' in html


def test_estimator_refuses_negative_volumes(client):
    response = client.get(PRICING, {"document-parse-pages": "-5", "peak_rps": "0"})

    html = response.content.decode()
    assert "Check the highlighted fields" in html
    assert 'id="suggested-tier"' not in html


def test_every_estimator_input_has_a_label(client):
    html = client.get(PRICING).content.decode()

    for name in ["solar-pro-2-input", "solar-pro-2-output", "document-parse-pages", "peak_rps"]:
        assert f'for="id_{name}"' in html, name


ENTERPRISE = {
    "company": "Globex",
    "contact_name": "Hank Scorpio",
    "email": "hank@globex.example",
    "expected_volume": "25k_100k",
    "message": "We parse 2M pages a month & need 200 requests/s.",
}


def test_enterprise_inquiry_is_stored_and_mailed_to_staff(
    client, settings, django_capture_on_commit_callbacks
):
    settings.STAFF_NOTIFICATION_EMAILS = ["sales@example.com", "ops@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("credits:enterprise_contact"), ENTERPRISE)

    assert response.status_code == 302
    assert response["Location"] == "/pricing/?enterprise=sent#enterprise"
    inquiry = EnterpriseInquiry.objects.get()
    assert (inquiry.company, inquiry.email, inquiry.expected_volume) == (
        "Globex",
        "hank@globex.example",
        "25k_100k",
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["sales@example.com", "ops@example.com"]
    assert mail.outbox[0].from_email == settings.DEFAULT_FROM_EMAIL
    assert "Globex" in mail.outbox[0].subject
    # Plain text: not HTML-escaped.
    assert "2M pages a month & need" in mail.outbox[0].body
    assert "Thank you. Your message reached our team" in client.get(
        response["Location"]
    ).content.decode()


def test_enterprise_inquiry_over_htmx_swaps_the_form(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("credits:enterprise_contact"),
            ENTERPRISE,
            headers={"HX-Request": "true", "HX-Target": "enterprise"},
        )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="enterprise"')
    assert "Thank you" in html
    assert EnterpriseInquiry.objects.count() == 1


def test_enterprise_inquiry_limits_are_enforced(client):
    response = client.post(
        reverse("credits:enterprise_contact"), {**ENTERPRISE, "message": "x" * 4001, "email": "no"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ensure this value has at most 4000 characters" in html
    assert "Enter a valid email address" in html
    assert EnterpriseInquiry.objects.count() == 0
    assert len(mail.outbox) == 0


def test_logged_in_estimator_prefills_from_the_last_30_days(owner_client, owner, settings):
    from datetime import timedelta

    from django.utils import timezone

    from credits.services.usage import record_usage_batch, validate_usage_batch

    now = timezone.now()
    events = [
        {"event_id": f"pf-{i}", "organization": owner.organization.pk, "model": "solar-pro-2",
         "input_tokens": 1_000_000, "output_tokens": 250_000,
         "occurred_at": (now - timedelta(days=i)).isoformat()}
        for i in (1, 2, 40)  # the 40-day-old one is outside the window
    ] + [{"event_id": "pf-doc", "organization": owner.organization.pk, "model": "document-parse",
          "pages": 300, "occurred_at": now.isoformat()}]
    record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=now)

    page = owner_client.get(reverse("credits:pricing"))
    prefilled = owner_client.get(reverse("credits:pricing"), {"prefill": "usage"})

    assert 'id="prefill-usage"' in page.content.decode()
    form = prefilled.context["estimator"]
    assert form.is_bound
    assert form.cleaned_data["solar-pro-2-input"] == Decimal("2.000")
    assert form.cleaned_data["solar-pro-2-output"] == Decimal("0.500")
    assert form.cleaned_data["document-parse-pages"] == 300
    # $0.15 x 2 + $0.60 x 0.5 + 300 pages x $0.01 = $3.60
    assert prefilled.context["estimate"].monthly_micros == 3_600_000


def test_anonymous_visitors_get_no_prefill_link(client):
    page = client.get(reverse("credits:pricing"), {"prefill": "usage"})

    assert 'id="prefill-usage"' not in page.content.decode()
    assert not page.context["estimator"].is_bound


def test_bonus_facts_on_the_pages_follow_the_staff_edited_schedule(client, owner_client):
    from credits.models import BonusRate

    # Staff drop the 10% step and move the first bonus from $100 to $200.
    BonusRate.objects.filter(percent=Decimal("10")).delete()
    BonusRate.objects.filter(min_amount_cents=10_000).update(min_amount_cents=20_000)

    pricing = client.get(reverse("credits:pricing")).content.decode()
    assert "up to +5%" in pricing and "up to +10%" not in pricing
    small = client.get(reverse("credits:pricing"), {"peak_rps": "0", "solar-pro-2-input": "1"})
    assert "bonus starts at $200.00" in small.content.decode()
    preview = owner_client.get(reverse("credits:buy"), {"amount": "50"}, HTTP_HX_REQUEST="true")
    assert "Purchases of $200.00 or more earn bonus credits" in preview.content.decode()
    credit = owner_client.get(reverse("credits:credit")).content.decode()
    assert "purchases of $200.00 or more earn bonus credits" in credit
