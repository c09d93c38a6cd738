"""Hostile input to every form and endpoint: never a 5xx, never a row written.

Each target gets a bounded number of Hypothesis examples drawn from a fixed list of hostile
values (huge and negative numbers, odd decimals, NaN, unicode, NUL, 100 KB strings, HTML,
SQL) mixed with random text. Every value is invalid for the form it is sent to, so the
answer must be a 4xx, or a 200/302 that shows a form error or an error message, and the
money and account tables must not change.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import BaseForm
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Invitation, Membership, Organization, Role, User
from credits.models import (
    AlertSettings,
    ApiKey,
    AutoRecharge,
    BillingDetails,
    CreditLot,
    EnterpriseInquiry,
    LedgerEntry,
    PaymentContactRequest,
    ProgramApplication,
    ProgramDocument,
    Purchase,
    RefundRequest,
    StripeEvent,
    UsageEvent,
)
from credits.services.api_keys import api_key_issue
from tests.factories import (
    InvitationFactory,
    MembershipFactory,
    PaymentMethodFactory,
    ProgramApplicationFactory,
    paid_purchase,
)

pytestmark = pytest.mark.django_db

WATCHED = [
    BillingDetails,
    AlertSettings,
    LedgerEntry,
    CreditLot,
    Purchase,
    UsageEvent,
    RefundRequest,
    AutoRecharge,
    ProgramApplication,
    ProgramDocument,
    EnterpriseInquiry,
    PaymentContactRequest,
    StripeEvent,
    User,
    Organization,
    Membership,
    Invitation,
]

# Amounts no money form may accept (whole cents, $10 to $100,000).
BAD_AMOUNTS = [
    str(10**30),
    "-1",
    str(-(10**12)),
    "0",
    "-0",
    "0.00",
    "9.99",
    "100000.01",
    "10.001",
    "10.000000001",
    "1e999999999",
    "1e-5",
    "NaN",
    "nan",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "0x10",
    "1_000",
    "10,50",
    "$100",
    "",
    " ",
]

HOSTILE_TEXT = [
    "\x00",
    "100\x00",
    "a@example.com\x00",
    "\u202e\u200fevil\u202c",
    "\u200b",
    "😀" * 50,
    "\ufeff",
    "\ufffd",
    "x" * 100_000,
    "1" * 100_000,
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "1; DROP TABLE credits_ledgerentry; --",
    "{{ 7*7 }}{% debug %}",
    "../../../../etc/passwd",
    "%00",
    "\r\nSet-Cookie: x=1",
    "[]",
    "{}",
    "null",
    "true",
]

HOSTILE_NUMBERS = [str(10**30), "-1", str(-(10**12)), "0", "NaN", "Infinity", "1e5", "99999999999999999999"]

# Every hostile string: the fixed lists, then random text and integers.
hostile = st.one_of(
    st.sampled_from(BAD_AMOUNTS + HOSTILE_TEXT + HOSTILE_NUMBERS),
    st.text(max_size=40),
    st.integers().map(str),
)
bad_amount = st.one_of(st.sampled_from(BAD_AMOUNTS + HOSTILE_TEXT), st.integers(max_value=9).map(str))
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)

bogus_id = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS), st.integers(min_value=-(10**30), max_value=10**30).map(str)
)

EXAMPLES = hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _stripe_unreachable(settings):
    # Nothing here may reach Stripe; if something does, it meets a closed port.
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"


@pytest.fixture
def api_key(db) -> str:
    """A raw, active API key (as tests/credits/conftest.py makes it)."""
    return api_key_issue(api_key=ApiKey(name="fuzz"), created_by=None, now=timezone.now())


@pytest.fixture
def world(client, owner):
    """A logged-in owner with a second member, a saved card, a paid purchase and a program
    application: enough for every id a hostile request could name."""
    client.raise_request_exception = False
    client.force_login(owner.user)
    organization = owner.organization
    other = MembershipFactory(organization=organization, role=Role.MEMBER)
    card = PaymentMethodFactory(customer__organization=organization, is_default=True)
    purchase = paid_purchase(organization, 50_00, timezone.now())
    application = ProgramApplicationFactory()
    invitation = InvitationFactory(organization=organization, invited_by=owner.user)
    return {
        "owner": owner,
        "other": other,
        "card": card,
        "purchase": purchase,
        "application": application,
        "invitation": invitation,
    }


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WATCHED}


def _bound_forms(response) -> list[BaseForm]:
    if response.context is None:
        return []
    found = []
    for context in response.context:
        for value in context.flatten().values() if hasattr(context, "flatten") else context.values():
            if isinstance(value, BaseForm) and value.is_bound and value not in found:
                found.append(value)
    return found


def assert_refused(response, before: dict[str, int], *, form_page: bool = True) -> None:
    """A 4xx, or a page that re-shows a form error, or a redirect with an error message;
    and not one row written."""
    status = response.status_code
    assert status < 500, f"server error {status}"
    if status == 200 and form_page:
        forms = _bound_forms(response)
        assert forms and any(form.errors for form in forms), "200 without a form error"
    elif status == 302:
        levels = [message.level for message in get_messages(response.wsgi_request)]
        assert message_levels.ERROR in levels, f"redirect to {response['Location']} without an error"
    else:
        assert 400 <= status < 500 or status == 200
    assert _counts() == before


@dataclass(frozen=True)
class FormTarget:
    name: str
    url: Callable[[dict], str]
    data: Callable[[str, dict], dict]
    method: str = "post"
    form_page: bool = True
    anonymous: bool = False


def _invalid_text(value: str, max_length: int) -> str:
    """The value when a CharField of that length refuses it, else the value with a NUL."""
    if not value.strip() or len(value) > max_length or "\x00" in value:
        return value
    return value + "\x00"


def _not_id(value: str, pk: int) -> str:
    """The value, unless it names the one organization the owner may switch to."""
    return "-" + value if value.strip().lstrip("+0") == str(pk) else value


def _not_threshold(value: str) -> str:
    """The value, unless it is a fine alert threshold ($0.01 to $1,000,000 in cents, so
    "9.99" is one): then made negative."""
    try:
        amount = Decimal(value)
        cents = amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        return value
    if cents == amount and Decimal("0.01") <= amount <= 1_000_000:
        return "-" + value
    return value


def _url(name: str, *args) -> Callable[[dict], str]:
    return lambda world: reverse(name, args=args)


FORM_TARGETS = [
    FormTarget(
        "signup",
        _url("accounts:signup"),
        lambda v, w: {"email": v, "organization_name": v, "password": v},
        anonymous=True,
    ),
    FormTarget(
        "signup-bad-email",
        _url("accounts:signup"),
        lambda v, w: {"email": v, "organization_name": v, "password": "correct-horse-9!"},
        anonymous=True,
    ),
    FormTarget("login", _url("accounts:login"), lambda v, w: {"username": v, "password": v}, anonymous=True),
    FormTarget("password-reset", _url("accounts:password_reset"), lambda v, w: {"email": v}, anonymous=True),
    FormTarget(
        "invitation-signup",
        lambda w: reverse("accounts:invitation", args=[w["invitation"].token]),
        lambda v, w: {"password1": v, "password2": v + "x"},
        anonymous=True,
    ),
    FormTarget("invite", _url("accounts:invite"), lambda v, w: {"email": v, "role": v}),
    FormTarget(
        "invite-bad-role", _url("accounts:invite"), lambda v, w: {"email": "new@example.com", "role": v}
    ),
    FormTarget(
        "change-role",
        lambda w: reverse("accounts:change_role", args=[w["other"].pk]),
        lambda v, w: {"role": v},
    ),
    FormTarget(
        "organization-create",
        _url("accounts:organization_create"),
        lambda v, w: {"name": _invalid_text(v, 200)},
    ),
    FormTarget(
        "organization-switch",
        _url("accounts:organization_switch"),
        lambda v, w: {"organization": _not_id(v, w["owner"].organization_id)},
    ),
    FormTarget(
        "buy",
        _url("credits:buy"),
        lambda v, w: {
            "amount": v,
            "payment_method": w["card"].pk,
            "token": "fuzz-token",
            "accept_refund_policy": "on",
        },
    ),
    FormTarget(
        "buy-every-field",
        _url("credits:buy"),
        # The policy left unticked, so that no combination reaches Stripe.
        lambda v, w: {"amount": v, "payment_method": v, "token": v, "accept_refund_policy": ""},
    ),
    FormTarget("buy-preview", _url("credits:buy"), lambda v, w: {"amount": v}, method="get", form_page=False),
    FormTarget(
        "auto-recharge",
        _url("credits:auto_recharge"),
        lambda v, w: {
            "amount": v,
            "frequency": "monthly",
            "billing_date": "2099-01-01",
            "card": "",
            "save": "1",
        },
    ),
    FormTarget(
        "auto-recharge-every-field",
        _url("credits:auto_recharge"),
        lambda v, w: {
            "amount": v,
            "frequency": v,
            "billing_date": v,
            "card": v,
            "threshold_enabled": "on",
            "threshold": v,
            "max_threshold_recharges": v,
            "max_threshold_amount": v,
        },
    ),
    FormTarget(
        "auto-recharge-preview",
        _url("credits:auto_recharge"),
        lambda v, w: {"amount": v, "frequency": v, "billing_date": v},
        method="get",
        form_page=False,
    ),
    FormTarget(
        "refund-request",
        _url("credits:request_refund"),
        lambda v, w: {"purchase": v, "reason": _invalid_text(v, 2000)},
    ),
    FormTarget("payment-contact", _url("credits:payment_contact"), lambda v, w: {"method": v, "message": v}),
    FormTarget(
        "pricing-estimator",
        _url("credits:pricing"),
        lambda v, w: {
            "peak_rps": v,
            "period": v,
            "solar-pro-2-input": v,
            "solar-pro-2-output": v,
            "document-parse-pages": v,
        },
        method="get",
        form_page=False,
    ),
    FormTarget(
        "usage-filters",
        _url("credits:usage"),
        lambda v, w: {"start": v, "end": v, "kind": v, "page": v},
        method="get",
        form_page=False,
    ),
    FormTarget(
        "ledger-csv",
        _url("credits:usage_ledger_csv"),
        lambda v, w: {"start": v, "end": v, "kind": v},
        method="get",
        form_page=False,
    ),
    FormTarget(
        # No plan exists: terminating is refused with a message, whatever is posted.
        "auto-recharge-terminate",
        _url("credits:auto_recharge_terminate"),
        lambda v, w: {"confirm": v},
    ),
    FormTarget(
        "billing-details",
        _url("credits:billing_settings"),
        lambda v, w: {
            "legal_name": _invalid_text(v, 200), "address": v, "country": v, "tax_id": v,
            "billing_email": v, "save_details": "1",
        },
    ),
    FormTarget(
        "billing-alerts",
        _url("credits:billing_settings"),
        lambda v, w: {
            "alerts-low_balance_mode": v + "\x00" if v in ("off", "amount", "days") else v,
            "alerts-low_balance_threshold": v, "alerts-low_balance_days": v, "alerts-budget": v,
            "save_alerts": "1",
        },
    ),
    FormTarget(
        "billing-alerts-amounts",
        _url("credits:billing_settings"),
        # Every amount refused: a threshold or budget of NaN, 10**30, -1, 0, "1.001"...
        lambda v, w: {
            "alerts-low_balance_mode": "amount", "alerts-low_balance_threshold": _not_threshold(v),
            "alerts-budget": "", "save_alerts": "1",
        },
    ),
    FormTarget(
        "billing-history-page",
        _url("credits:billing_history"),
        lambda v, w: {"page": v},
        method="get",
        form_page=False,
    ),
    FormTarget(
        "enterprise-contact",
        _url("credits:enterprise_contact"),
        lambda v, w: {"company": v, "contact_name": v, "email": v, "expected_volume": v, "message": v},
        anonymous=True,
    ),
]


def _request(client, target: FormTarget, value: str, world: dict):
    data = target.data(value, world)
    if target.method == "get":
        return client.get(target.url(world), data, headers={"HX-Request": "true"} if len(value) % 2 else {})
    return client.post(target.url(world), data)


@pytest.mark.parametrize("target", FORM_TARGETS, ids=lambda target: target.name)
def test_forms_refuse_hostile_input(client, world, target):
    if target.anonymous:
        client.logout()

    @EXAMPLES
    @given(value=bad_amount if target.name in ("buy", "auto-recharge", "billing-alerts-amounts") else hostile)
    def check(value):
        cache.clear()
        before = _counts()
        response = _request(client, target, value, world)
        assert_refused(response, before, form_page=target.form_page)

    check()


@EXAMPLES
@given(value=bogus_id)
def test_object_urls_with_bogus_ids(client, world, value):
    ours = {world["card"].pk, world["owner"].pk, world["other"].pk, world["purchase"].pk}
    assume(not (value.isdigit() and int(value) in ours))
    before = _counts()
    for name in (
        "credits:card_default",
        "credits:card_remove",
        "accounts:change_role",
        "accounts:remove_member",
        "credits:buy_confirm",
        "credits:receipt",
    ):
        url = reverse(name, args=[1]).replace("/1/", f"/{value}/")
        response = client.post(url) if name != "credits:receipt" else client.get(url)
        assert response.status_code == 404
    assert _counts() == before


HOSTILE_DOCUMENTS = [
    ("x.pdf", b"<script>alert(1)</script>", "application/pdf"),
    ("../../etc/passwd.pdf", b"root:x:0:0", "application/pdf"),
    ("\u202eevil\u202c.png", b"GIF89a", "image/png"),
    ("empty.jpg", b"", "image/jpeg"),
    ("a" * 300 + ".pdf", b"%PD", "application/pdf"),
    ("x.html", b"<html>" * 1000, "text/html"),
    ("\x00.pdf", b"MZ\x90\x00", "application/x-msdownload"),
]


@EXAMPLES
@given(value=hostile, document=st.sampled_from(HOSTILE_DOCUMENTS))
def test_program_apply_refuses_hostile_input(client, world, value, document):
    client.logout()
    cache.clear()
    name, content, content_type = document
    before = _counts()
    fields = {
        "organization_name": "Hillside School",
        "kind": "school",
        "country": "Kenya",
        "website": "https://hillside.example.org",
        "contact_name": "Amani Otieno",
        "contact_email": "head@hillside.example.org",
        "intended_use": "Reading support.",
    }
    # Once with every field hostile, once with only the document wrong.
    for data in (dict.fromkeys(fields, value), fields):
        upload = SimpleUploadedFile(name, content, content_type=content_type)
        response = client.post(reverse("credits:program_apply"), {**data, "document": upload})
        assert_refused(response, before)


@EXAMPLES
@given(document=st.sampled_from(HOSTILE_DOCUMENTS), value=hostile)
def test_program_status_upload_refuses_hostile_documents(client, world, document, value):
    cache.clear()
    name, content, content_type = document
    before = _counts()
    url = reverse("credits:program_status", args=[world["application"].status_token])
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    assert_refused(client.post(url, {"document": upload}), before)
    # A hostile token is simply not found (a NUL in it once was a 500 on PostgreSQL).
    for path in ("/programs/status/{}/", "/accounts/invitations/{}/"):
        response = client.post(path.format(quote(value, safe="") or "x"), {"document": value})
        assert response.status_code == 404
    assert _counts() == before


def _usage_event(world, **overrides) -> dict:
    event = {
        "event_id": "fuzz-1",
        "organization": world["owner"].organization_id,
        "model": "solar-pro-2",
        "input_tokens": 10,
        "output_tokens": 5,
        "occurred_at": "2026-01-31T12:00:00Z",
    }
    return {**event, **overrides}


USAGE_FIELDS = ["event_id", "organization", "model", "input_tokens", "output_tokens", "pages", "occurred_at"]
# Values that are wrong for every field of an event (an event_id must be a short string).
wrong_for_every_field = st.one_of(
    st.sampled_from(
        [None, [], {}, [1], {"a": 1}, True, 1.5, float("inf"), -1, 10**30, -(10**12), "", "x" * 100_000]
    ),
    st.lists(json_value, max_size=3),
    st.dictionaries(st.text(max_size=5), json_value, max_size=3),
)


@EXAMPLES
@given(field=st.sampled_from(USAGE_FIELDS), value=wrong_for_every_field, body=json_value)
def test_usage_api_refuses_hostile_batches(client, world, api_key, field, value, body):
    before = _counts()
    url = reverse("credits:api_usage")
    bearer = {"Authorization": f"Bearer {api_key}"}
    batches = [
        {"events": [_usage_event(world, **{field: value})]},
        {"events": value},
        body,
        {"events": [body]},
    ]
    for batch in batches:
        # With a valid key: a 400 with a machine-readable code.
        response = client.post(url, json.dumps(batch), content_type="application/json", headers=bearer)
        assert response.status_code == 400, response.content[:300]
        assert "code" in response.json()["error"]
        # Without a key, or a hostile one: 401 before anything is read.
        for headers in (
            {},
            {"Authorization": "Bearer ' OR 1=1 --"},
            {"Authorization": "Basic " + "x" * 1000},
        ):
            response = client.post(url, json.dumps(batch), content_type="application/json", headers=headers)
            assert response.status_code == 401
    assert _counts() == before


RAW_BODIES = [
    (b"", "application/json"),
    (b"{", "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}", "application/json"),
    (b"NaN", "application/json"),
    (b'{"events": NaN}', "application/json"),
    (b'{"events": [{"event_id": "a", "input_tokens": Infinity}]}', "application/json"),
    (json.dumps({"events": []}).encode(), "text/plain"),
    (b"events=1", "application/x-www-form-urlencoded"),
    (
        b'--b\r\nContent-Disposition: form-data; name="events"\r\n\r\n[]\r\n--b--\r\n',
        "multipart/form-data; boundary=b",
    ),
    (b"<events/>", "application/xml"),
    (b"\x00" * 1000, "application/json"),
]


@pytest.mark.parametrize("raw, content_type", RAW_BODIES)
def test_usage_api_refuses_garbage_bodies(client, world, api_key, raw, content_type):
    before = _counts()
    response = client.post(
        reverse("credits:api_usage"),
        raw,
        content_type=content_type,
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code in (400, 415), response.content[:300]
    assert _counts() == before


def test_usage_api_refuses_nul_and_huge_event_ids(client, world, api_key):
    """Valid events but for an id the database cannot store (PostgreSQL refuses NUL)."""
    before = _counts()
    for event_id in ("\x00", "fuzz\x00id", "x" * 129, " ", "\u200b" * 129):
        batch = {"events": [_usage_event(world, event_id=event_id)]}
        response = client.post(
            reverse("credits:api_usage"),
            json.dumps(batch),
            content_type="application/json",
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert response.status_code == 400, (event_id[:10], response.content[:300])
    assert _counts() == before


@pytest.mark.parametrize("organization", [[], {}, [1], {"id": 1}, 10**30, -1, "1", None])
def test_usage_api_refuses_unhashable_and_unknown_organizations(client, world, api_key, organization):
    """Regression: a list or object as the organization was a TypeError (500)."""
    before = _counts()
    batch = {"events": [_usage_event(world, organization=organization)]}
    response = client.post(
        reverse("credits:api_usage"),
        json.dumps(batch),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "organization"
    assert _counts() == before


@pytest.mark.parametrize("token", ["%00", "a%00b", "%3Cscript%3E", "' OR 1=1 --", "%F0%9F%98%80", "x" * 5000])
def test_hostile_tokens_in_urls_are_not_found(client, world, token):
    """Regression: a NUL in a program status or invitation token reached PostgreSQL (500)."""
    before = _counts()
    for path in ("/programs/status/{}/", "/accounts/invitations/{}/"):
        assert client.get(path.format(token)).status_code == 404
        assert client.post(path.format(token), {"password1": token}).status_code == 404
    assert _counts() == before


@EXAMPLES
@given(value=bogus_id)
def test_rate_limits_api_with_bogus_ids(client, world, api_key, value):
    url = reverse("credits:api_rate_limits", args=[1]).replace("/1/", f"/{value}/")
    response = client.get(url, headers={"Authorization": f"Bearer {api_key}"})
    exists = value.isdigit() and Organization.objects.filter(pk=int(value)).exists()
    assert response.status_code == (200 if exists else 404)
    # Without a key: 401, or 404 when the path is not even an id.
    assert client.get(url).status_code == (401 if value.isdigit() else 404)


@EXAMPLES
@given(
    body=st.one_of(st.binary(max_size=200), json_value.map(lambda v: json.dumps(v).encode())),
    signature=hostile,
)
def test_stripe_webhook_refuses_garbage(client, world, body, signature):
    before = _counts()
    for header in (signature, f"t={signature},v1={signature}", "t=1,v1=" + "0" * 64):
        # A server hands the application header bytes decoded as Latin-1.
        header = header.encode("utf-8", "surrogatepass").decode("latin-1")
        response = client.post(
            reverse("credits:stripe_webhook"),
            body,
            content_type="application/json",
            headers={"Stripe-Signature": header},
        )
        assert response.status_code == 400
    assert _counts() == before


def test_buy_with_stripe_unreachable_fails_gracefully(client, world):
    """Input that is odd but valid ("1e2" is $100) reaches Stripe, which is down: the
    page says so, and no credits are granted."""
    before = _counts()
    response = client.post(
        reverse("credits:buy"),
        {
            "amount": "1e2",
            "payment_method": world["card"].pk,
            "token": "fuzz-stripe-down",
            "accept_refund_policy": "on",
        },
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    after = _counts()
    assert after["LedgerEntry"] == before["LedgerEntry"]
    assert after["CreditLot"] == before["CreditLot"]


@EXAMPLES
@given(value=bogus_id)
def test_recharge_authentication_with_bogus_charges(client, world, value):
    before = _counts()
    url = reverse("credits:auto_recharge_authenticate", args=[1]).replace("/1/", f"/{value}/")
    for response in (client.get(url), client.post(url)):
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            levels = [m.level for m in get_messages(response.wsgi_request)]
            assert message_levels.ERROR in levels
    assert _counts() == before


@pytest.fixture
def staff_client(client, world):
    from tests.factories import UserFactory

    client.raise_request_exception = False
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@EXAMPLES
@given(value=hostile)
def test_staff_forms_refuse_hostile_input(staff_client, world, value):
    from credits.models import CreditAccount

    cache.clear()
    before = _counts()
    account = CreditAccount.objects.get(organization=world["owner"].organization)
    application = world["application"]
    posts = [
        (reverse("accounts:two_factor"), {"token": value, "next": value}),
        (
            reverse("admin:credits_creditaccount_adjust", args=[account.pk]),
            {"amount": value, "reason": _invalid_text(value, 255), "expires_at": value},
        ),
        (
            reverse("admin:credits_programapplication_approve", args=[application.pk]),
            {"ends_on": value},
        ),
        (
            reverse("admin:credits_programapplication_reject", args=[application.pk]),
            {"reason": _invalid_text(value, 2000)},
        ),
        (
            reverse("admin:credits_programapplication_request_info", args=[application.pk]),
            {"message": _invalid_text(value, 2000)},
        ),
    ]
    for url, data in posts:
        response = staff_client.post(url, data)
        assert response.status_code < 500, url
        # The two-factor page answers a wrong code on the page; a hostile "next" never
        # becomes a redirect off the site.
        if response.status_code == 302:
            assert response["Location"].startswith("/"), response["Location"]
    assert _counts() == before
    application.refresh_from_db()
    assert application.status == "submitted"
