from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import AuditEntry
from credits.models import ApiModel, BonusRate, CreditAccount, RateLimit
from credits.services import ledger
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, email="finance@example.com")
    client.force_login(user)
    return user


def test_price_change_in_admin_is_audited_with_before_and_after(client, staff):
    model = ApiModel.objects.get(slug="solar-pro-2")
    url = reverse("admin:credits_apimodel_change", args=[model.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["input_micros_per_million"] = 200_000
    for i, limit in enumerate(model.rate_limits.order_by("pk")):
        data.update(
            {
                f"rate_limits-{i}-id": limit.pk,
                f"rate_limits-{i}-api_model": model.pk,
                f"rate_limits-{i}-tier": limit.tier,
                f"rate_limits-{i}-requests_per_second": 99
                if limit.tier == "tier1"
                else limit.requests_per_second,
                f"rate_limits-{i}-pages_per_minute": limit.pages_per_minute or "",
            }
        )
    count = model.rate_limits.count()
    data.update({"rate_limits-TOTAL_FORMS": count, "rate_limits-INITIAL_FORMS": count,
                 "rate_limits-MIN_NUM_FORMS": 0, "rate_limits-MAX_NUM_FORMS": 1000})

    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    price = AuditEntry.objects.get(object_type="credits.apimodel")
    assert (price.actor, price.action) == (staff, "change")
    assert (price.before["input_micros_per_million"], price.after["input_micros_per_million"]) == (
        150_000,
        200_000,
    )
    limit = AuditEntry.objects.get(object_type="credits.ratelimit")
    assert (limit.before["requests_per_second"], limit.after["requests_per_second"]) == (30, 99)
    assert RateLimit.objects.get(api_model=model, tier="tier1").requests_per_second == 99


def test_bonus_schedule_edit_is_audited(client, staff):
    rate = BonusRate.objects.get(min_amount_cents=10_000)

    client.post(reverse("admin:credits_bonusrate_change", args=[rate.pk]),
                {"min_amount_cents": 10_000, "percent": "4.00"})

    entry = AuditEntry.objects.get()
    assert (entry.before["percent"], entry.after["percent"]) == ("3.00", "4.00")


def test_credit_adjustment_is_audited_and_entries_cannot_be_edited():
    staff = UserFactory(is_staff=True)
    organization = OrganizationFactory()
    ledger.adjust_credits(
        organization=organization,
        amount_micros=5_000_000,
        reason="goodwill",
        created_by=staff,
        now=datetime(2026, 3, 1, tzinfo=UTC),
    )

    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.note, entry.organization) == (
        staff,
        "credit_adjustment",
        "goodwill",
        organization,
    )
    assert entry.after == {"balance_micros": 5_000_000, "amount_micros": 5_000_000}
    assert CreditAccount.objects.get(organization=organization).balance_micros == 5_000_000
    entry.note = "changed"
    with pytest.raises(ValueError):
        entry.save()


def test_audit_log_is_read_only_in_admin(client, staff):
    OrganizationFactory()
    rate = BonusRate.objects.get(min_amount_cents=10_000)
    client.post(reverse("admin:credits_bonusrate_change", args=[rate.pk]),
                {"min_amount_cents": 10_000, "percent": "4.00"})
    entry = AuditEntry.objects.get()

    listing = client.get(reverse("admin:accounts_auditentry_changelist"), {"action": "change"})
    edit = client.post(reverse("admin:accounts_auditentry_change", args=[entry.pk]), {"note": "x"})

    assert listing.status_code == 200 and "bonus" in listing.content.decode().lower()
    assert edit.status_code == 403
