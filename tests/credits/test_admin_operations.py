"""Staff operations in admin: auto-recharge plans and charges, program grants, the catalog's
rate limits, program documents, and an audit entry for every action."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEntry, Invitation, Role
from credits.models import (
    ApiModel,
    ChargeStatus,
    LimitTier,
    PaymentContactRequest,
    ProgramApplication,
    RateLimit,
    RechargeCharge,
    RechargeStatus,
)
from credits.services import recharge_jobs
from credits.services.recharge import RechargeSettings, recharge_save
from tests import fake_stripe
from tests.factories import (
    InvitationFactory,
    MembershipFactory,
    OrganizationFactory,
    ProgramApplicationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 31, 8, tzinfo=UTC)


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def stripe(monkeypatch):
    return fake_stripe.ScriptedStripe(monkeypatch)


def _plan(organization=None):
    organization = organization or MembershipFactory(role=Role.OWNER).organization
    fake_stripe.default_card(organization)
    return recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=date(2026, 1, 31)),
        user=None,
        now=START,
        refund_policy_accepted=True,
    )


def _failed_charge(stripe):
    plan = _plan()
    stripe.script = [fake_stripe.DECLINED]
    recharge_jobs.run_recharges(now=START)
    return RechargeCharge.objects.get(plan=plan)


def _action(client, model: str, action: str, ids: list[int]):
    return client.post(
        reverse(f"admin:credits_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in ids]},
        follow=True,
    )


# Auto-recharge ------------------------------------------------------------------------------


def test_plans_are_listed_and_filtered_by_status_next_charge_and_last_failure(client, staff, stripe):
    failing = _failed_charge(stripe).plan
    healthy = _plan()
    url = reverse("admin:credits_autorecharge_changelist")

    listing = client.get(url).content.decode()
    only_failing = client.get(url, {"failing": "yes"}).context["cl"].result_list
    without_failure = client.get(url, {"failing": "no"}).context["cl"].result_list
    active = client.get(url, {"status__exact": "active"}).context["cl"].result_list
    due_soon = client.get(url, {"next_charge_on__gte": "2026-02-01", "next_charge_on__lt": "2026-03-01"})

    assert "Your card was declined." in listing
    assert list(only_failing) == [failing]
    assert list(without_failure) == [healthy]
    assert set(active) == {failing, healthy}
    assert due_soon.status_code == 200
    assert list(due_soon.context["cl"].result_list) == [failing]


def test_a_plans_page_shows_its_charges(client, staff, stripe):
    charge = _failed_charge(stripe)

    page = client.get(reverse("admin:credits_autorecharge_change", args=[charge.plan.pk])).content.decode()

    assert "Failed, will retry" in page
    assert "Your card was declined." in page


def test_pause_and_resume_are_audited(client, staff):
    plan = _plan()

    _action(client, "autorecharge", "pause", [plan.pk])
    plan.refresh_from_db()
    assert plan.status == RechargeStatus.PAUSED
    assert "Paused by our billing team" in plan.last_result
    assert recharge_jobs.run_recharges(now=START)["scheduled"] == 0  # a paused plan is not charged

    _action(client, "autorecharge", "resume", [plan.pk])
    plan.refresh_from_db()
    assert plan.status == RechargeStatus.ACTIVE

    entries = list(AuditEntry.objects.filter(object_type="credits.autorecharge").order_by("pk"))
    assert [(e.action, e.actor, e.before["status"], e.after["status"]) for e in entries] == [
        ("recharge_pause", staff, "active", "paused"),
        ("recharge_resume", staff, "paused", "active"),
    ]
    assert entries[0].organization == plan.organization


def test_retry_a_failed_charge_now_pays_it_once_and_is_audited(client, staff, stripe):
    charge = _failed_charge(stripe)
    stripe.script = [fake_stripe.SUCCEEDED]

    response = _action(client, "rechargecharge", "retry_now", [charge.pk])

    charge.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED
    assert f"Charge {charge.pk}: Paid." in response.content.decode()
    assert len(stripe.charges) == 2
    assert stripe.charges[0]["idempotency_key"] != stripe.charges[1]["idempotency_key"]
    assert charge.purchase.granted_at is not None
    entry = AuditEntry.objects.get(action="recharge_charge_retry")
    assert (entry.actor, entry.before["status"], entry.after["status"]) == (staff, "failed", "succeeded")
    # Paid: a second retry is refused, nothing charged.
    _action(client, "rechargecharge", "retry_now", [charge.pk])
    assert len(stripe.charges) == 2


def test_retrying_a_charge_of_a_paused_plan_asks_to_resume_first(client, staff, stripe):
    charge = _failed_charge(stripe)
    _action(client, "autorecharge", "pause", [charge.plan.pk])

    response = _action(client, "rechargecharge", "retry_now", [charge.pk])

    assert "Resume the plan before retrying its charge." in response.content.decode()
    assert len(stripe.charges) == 1


def test_charges_are_listed_by_status(client, staff, stripe):
    charge = _failed_charge(stripe)
    url = reverse("admin:credits_rechargecharge_changelist")

    assert list(client.get(url, {"status__exact": "failed"}).context["cl"].result_list) == [charge]
    assert list(client.get(url, {"status__exact": "succeeded"}).context["cl"].result_list) == []


# Program grants -----------------------------------------------------------------------------


def _apply_signed_in(client, user):
    from tests.credits.test_program_pages import _form

    client.force_login(user)
    client.post("/programs/apply/", _form())
    client.logout()
    return ProgramApplication.objects.get()


def test_applying_signed_in_records_the_organization_and_staff_grant_to_it_by_default(client):
    owner = MembershipFactory(role=Role.OWNER)
    application = _apply_signed_in(client, owner.user)
    assert (application.submitted_by, application.applicant_organization) == (owner.user, owner.organization)

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    approve = reverse("admin:credits_programapplication_approve", args=[application.pk])
    form = client.get(approve).context["form"]
    assert form["organization"].value() == owner.organization.pk
    ends_on = (timezone.now() + timedelta(days=100)).date().isoformat()
    client.post(approve, {"ends_on": ends_on, "organization": owner.organization.pk})

    application.refresh_from_db()
    assert application.grant.organization == owner.organization
    assert not Invitation.objects.exists()


def test_the_applicants_organization_name_is_shown_as_text_on_the_approve_page(client):
    """The name is the customer's own: as markup inside the staff's form it could add a
    button that posts the form elsewhere (a credit adjustment)."""
    owner = MembershipFactory(role=Role.OWNER, organization__name='<button formaction="/x/">Go</button>')
    application = _apply_signed_in(client, owner.user)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:credits_programapplication_approve", args=[application.pk]))

    html = page.content.decode()
    assert "signed in to &lt;button formaction=&quot;/x/&quot;&gt;Go&lt;/button&gt; (id" in html
    assert '<button formaction="/x/">' not in html


def test_a_plain_member_applying_signed_in_does_not_name_the_organization(client):
    member = MembershipFactory(role=Role.MEMBER)

    application = _apply_signed_in(client, member.user)

    assert application.applicant_organization is None


def test_staff_pick_another_organization_by_id(client, staff):
    application = ProgramApplicationFactory()
    chosen = OrganizationFactory(name="Picked by staff")
    ends_on = (timezone.now() + timedelta(days=100)).date().isoformat()

    client.post(
        reverse("admin:credits_programapplication_approve", args=[application.pk]),
        {"ends_on": ends_on, "organization": chosen.pk},
    )

    application.refresh_from_db()
    assert application.grant.organization == chosen


def test_the_contact_email_alone_never_picks_an_organization(client, staff):
    # Someone owns an organization with the email typed on an anonymous application.
    MembershipFactory(role=Role.OWNER, user__email="dean@bigcorp.example")
    application = ProgramApplicationFactory(
        organization_name="Small School", contact_email="dean@bigcorp.example"
    )
    ends_on = (timezone.now() + timedelta(days=100)).date().isoformat()

    client.post(
        reverse("admin:credits_programapplication_approve", args=[application.pk]),
        {"ends_on": ends_on, "organization": ""},
    )

    application.refresh_from_db()
    assert application.grant.organization.name == "Small School"
    assert Invitation.objects.get().email == "dean@bigcorp.example"


def test_the_models_a_program_covers_are_catalog_data(client, staff):
    ApiModel.objects.update(in_program=False)
    ApiModel.objects.filter(slug="information-extract").update(in_program=True)
    application = ProgramApplicationFactory()
    ends_on = (timezone.now() + timedelta(days=100)).date().isoformat()

    client.post(
        reverse("admin:credits_programapplication_approve", args=[application.pk]),
        {"ends_on": ends_on, "organization": ""},
    )

    application.refresh_from_db()
    assert list(application.grant.api_models.values_list("slug", flat=True)) == ["information-extract"]


def test_by_default_the_program_covers_solar_pro_and_document_parse():
    covered = sorted(ApiModel.objects.filter(in_program=True).values_list("slug", flat=True))

    assert covered == ["document-parse", "solar-pro", "solar-pro-2"]


# The catalog --------------------------------------------------------------------------------


def _model_form(**limits) -> dict:
    data = {
        "slug": "solar-nano",
        "name": "Solar Nano",
        "kind": "llm",
        "input_micros_per_million": "100000",
        "output_micros_per_million": "400000",
        "page_micros": "0",
        "sort_order": "9",
        "active": "on",
        "rate_limits-TOTAL_FORMS": str(len(limits)),
        "rate_limits-INITIAL_FORMS": "0",
        "rate_limits-MIN_NUM_FORMS": "0",
        "rate_limits-MAX_NUM_FORMS": "1000",
    }
    for number, (tier, rps) in enumerate(limits.items()):
        data[f"rate_limits-{number}-tier"] = tier
        data[f"rate_limits-{number}-requests_per_second"] = str(rps)
    return data


def test_a_model_without_a_limit_for_every_tier_is_refused(client, staff):
    partial = {"base": 5, "tier1": 10, "tier2": 20}

    response = client.post(reverse("admin:credits_apimodel_add"), _model_form(**partial))

    assert response.status_code == 200
    assert "missing: Tier 3, Legacy, Enterprise" in response.content.decode()
    assert not ApiModel.objects.filter(slug="solar-nano").exists()


def test_a_model_with_every_tier_is_saved_and_audited(client, staff):
    every = {tier: 10 * (number + 1) for number, tier in enumerate(LimitTier.values)}

    response = client.post(reverse("admin:credits_apimodel_add"), _model_form(**every))

    assert response.status_code == 302
    model = ApiModel.objects.get(slug="solar-nano")
    assert RateLimit.objects.filter(api_model=model).count() == len(LimitTier.values)
    assert AuditEntry.objects.filter(action="add", object_type="credits.ratelimit").count() == 6


def test_deleting_a_limit_row_of_an_existing_model_is_refused(client, staff):
    model = ApiModel.objects.get(slug="solar-pro-2")
    limits = list(RateLimit.objects.filter(api_model=model).order_by("pk"))
    data = {
        "slug": model.slug,
        "name": model.name,
        "kind": model.kind,
        "input_micros_per_million": model.input_micros_per_million,
        "output_micros_per_million": model.output_micros_per_million,
        "page_micros": model.page_micros,
        "sort_order": model.sort_order,
        "active": "on",
        "in_program": "on",
        "rate_limits-TOTAL_FORMS": str(len(limits)),
        "rate_limits-INITIAL_FORMS": str(len(limits)),
        "rate_limits-MIN_NUM_FORMS": "0",
        "rate_limits-MAX_NUM_FORMS": "1000",
    }
    for number, limit in enumerate(limits):
        data[f"rate_limits-{number}-id"] = limit.pk
        data[f"rate_limits-{number}-api_model"] = model.pk
        data[f"rate_limits-{number}-tier"] = limit.tier
        data[f"rate_limits-{number}-requests_per_second"] = limit.requests_per_second
        data[f"rate_limits-{number}-pages_per_minute"] = limit.pages_per_minute or ""
    data["rate_limits-0-DELETE"] = "on"

    response = client.post(reverse("admin:credits_apimodel_change", args=[model.pk]), data)

    assert response.status_code == 200
    assert "missing:" in response.content.decode()
    assert RateLimit.objects.filter(api_model=model).count() == len(limits)


# Audit of the other actions -----------------------------------------------------------------


def test_marking_payment_contact_requests_handled_is_audited(client, staff):
    organization = OrganizationFactory()
    requests = [
        PaymentContactRequest.objects.create(
            organization=organization, method="bank_transfer", message="invoice please", created_at=START
        )
        for _ in range(2)
    ]

    _action(client, "paymentcontactrequest", "mark_handled", [r.pk for r in requests])

    entries = AuditEntry.objects.filter(action="payment_contact_handled")
    assert sorted(int(e.object_id) for e in entries) == sorted(r.pk for r in requests)
    assert {e.actor for e in entries} == {staff}
    assert PaymentContactRequest.objects.filter(handled_by=staff).count() == 2
    # Already handled: marking again writes nothing new.
    _action(client, "paymentcontactrequest", "mark_handled", [r.pk for r in requests])
    assert AuditEntry.objects.filter(action="payment_contact_handled").count() == 2


def test_bulk_delete_is_audited_row_by_row(client, staff):
    invitations = [InvitationFactory() for _ in range(2)]

    client.post(
        reverse("admin:accounts_invitation_changelist"),
        {"action": "delete_selected", "_selected_action": [i.pk for i in invitations], "post": "yes"},
    )

    assert not Invitation.objects.exists()
    deleted = AuditEntry.objects.filter(action="delete", object_type="accounts.invitation")
    assert sorted(int(e.object_id) for e in deleted) == sorted(i.pk for i in invitations)


# Program documents --------------------------------------------------------------------------


@pytest.fixture
def document():
    from tests.credits.test_program_pages import _submitted_application

    return _submitted_application().documents.get()


def test_documents_need_a_verified_second_factor(client, settings, document):
    settings.ADMIN_REQUIRE_OTP = True
    url = reverse("credits:program_document", args=[document.pk])
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    follow = client.get(response["Location"])
    assert follow["Location"].startswith(reverse("accounts:two_factor"))


def test_documents_need_the_permission_to_view_applications(client, document):
    url = reverse("credits:program_document", args=[document.pk])
    reader = UserFactory(is_staff=True)
    group = Group.objects.create(name="Program readers")
    from django.contrib.auth.models import Permission

    group.permissions.add(Permission.objects.get(codename="view_programapplication"))
    other = UserFactory(is_staff=True)

    client.force_login(other)
    assert client.get(url).status_code == 403
    reader.groups.add(group)
    client.force_login(reader)
    assert client.get(url).status_code == 200


def test_a_verified_staff_member_downloads_a_document(client, settings, document):
    from tests.accounts.test_two_factor import _code

    settings.ADMIN_REQUIRE_OTP = True
    user = UserFactory(is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    client.post(reverse("accounts:two_factor"), {"token": _code(device), "next": "/admin/"})

    assert client.get(reverse("credits:program_document", args=[document.pk])).status_code == 200


def test_finance_operates_recharges_and_support_only_looks():
    finance = set(Group.objects.get(name="finance").permissions.values_list("codename", flat=True))
    support = set(Group.objects.get(name="support").permissions.values_list("codename", flat=True))

    assert {"change_autorecharge", "change_rechargecharge"} <= finance
    assert {"view_autorecharge", "view_rechargecharge"} <= support
    assert not {"change_autorecharge", "change_rechargecharge"} & support
