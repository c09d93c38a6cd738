"""Hostile input to the customer and staff forms: a form error, never a crash."""

from datetime import date

import pytest
from django.urls import reverse

from credits.forms.buy import BuyForm
from credits.forms.recharge import RechargeForm
from credits.forms.staff import AdjustmentForm
from credits.models import ApiKey
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

RECHARGE = {"amount": "100", "frequency": "monthly", "card": "", "max_threshold_recharges": "3"}


@pytest.mark.parametrize("billing_date", ["9999-12-31", "0001-01-01"])
def test_a_billing_date_at_the_edge_of_the_calendar_is_a_form_error_in_preview_and_save(
    owner_client, billing_date
):
    data = {**RECHARGE, "billing_date": billing_date}

    preview = owner_client.get(reverse("credits:auto_recharge"), data)
    saved = owner_client.post(reverse("credits:auto_recharge"), data)

    assert preview.status_code == 200
    assert preview.context["form"].errors["billing_date"]
    assert saved.status_code == 400
    assert saved.context["form"].errors["billing_date"]


def test_a_billing_date_within_a_year_is_accepted_by_the_form():
    form = RechargeForm({**RECHARGE, "billing_date": date.today().replace(day=1).isoformat()})

    assert "billing_date" not in form.errors


# Arabic-Indic, Devanagari and fullwidth "100", and 100 with an Arabic-Indic zero.
@pytest.mark.parametrize(
    "amount", ["\u0661\u0660\u0660", "\u0967\u0966\u0966", "\uff11\uff10\uff10", "100\u0660"]
)
def test_money_inputs_accept_ascii_digits_only(amount):
    buy = BuyForm(
        {"amount": amount, "token": "t", "accept_refund_policy": "on"}, organization=OrganizationFactory()
    )
    recharge = RechargeForm({**RECHARGE, "amount": amount, "billing_date": date.today().isoformat()})
    adjustment = AdjustmentForm({"amount": amount, "reason": "fix"})

    assert "amount" in buy.errors
    assert "amount" in recharge.errors
    assert "amount" in adjustment.errors


def test_ascii_amounts_still_parse():
    form = AdjustmentForm({"amount": " 100.5 ", "reason": "fix"})

    assert form.is_valid(), form.errors


def test_a_new_api_key_never_travels_in_a_cookie(client):
    import re

    from credits.models.usage import hash_api_key
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:credits_apikey_add"), {"name": "gateway"})

    assert response.status_code == 302
    assert "messages" not in response.cookies
    shown = client.get(response["Location"]).content.decode()
    [raw_key] = re.findall(r"will not be shown again: (\S+?)<", shown)
    assert ApiKey.objects.get(name="gateway").key_hash == hash_api_key(raw_key)
    every_cookie = " ".join(morsel.OutputString() for morsel in client.cookies.values())
    assert raw_key not in every_cookie
    assert "will not be shown again" not in client.get(response["Location"]).content.decode()
