"""Saved cards: SetupIntent, attach (localstripe does not), default, removal, contact form."""

from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from credits import stripe_client
from credits.exceptions import CardDeclined, CardRemovalRefused, CardSetupFailed
from credits.models import (
    AutoRecharge,
    PaymentContactRequest,
    PaymentMethod,
    RechargeStatus,
    StripeCustomer,
)
from credits.services.cards import (
    card_make_default,
    card_remove,
    card_setup_finish,
    card_setup_start,
    stripe_customer_get_or_create,
)
from tests import localstripe
from tests.factories import MembershipFactory, PaymentMethodFactory, saved_card

pytestmark = pytest.mark.django_db


def _plan(organization, payment_method_id=""):
    now = timezone.now()
    return AutoRecharge.objects.create(
        organization=organization, amount_cents=50_000, frequency="monthly",
        billing_date=now.date(), next_charge_on=now.date(), payment_method_id=payment_method_id,
        created_at=now, updated_at=now,
    )


def test_one_stripe_customer_per_organization(owner, stripe_server):
    first = stripe_customer_get_or_create(organization=owner.organization, now=timezone.now())
    second = stripe_customer_get_or_create(organization=owner.organization, now=timezone.now())

    assert first == second
    assert StripeCustomer.objects.count() == 1


def test_saved_card_is_attached_to_the_customer_and_becomes_default(owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)

    assert (card.brand, card.last4, card.exp_month, card.exp_year, card.is_default) == (
        "visa", "4242", 12, 2034, True
    )
    customer = StripeCustomer.objects.get(organization=owner.organization)
    assert stripe_server.payment_method(card.stripe_id)["customer"] == customer.stripe_id


def test_second_card_is_not_default_until_chosen(owner, stripe_server):
    first = saved_card(owner.organization, localstripe.VISA, stripe_server)
    second = saved_card(owner.organization, localstripe.THREE_D_SECURE, stripe_server)

    assert not second.is_default

    card_make_default(organization=owner.organization, payment_method_id=second.pk)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_finishing_the_same_setup_twice_saves_one_card(owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)
    setup_intent = next(  # the SetupIntent the card came from
        i for i in stripe_server._call("GET", "/v1/setup_intents")["data"]
        if i["payment_method"] == card.stripe_id
    )

    again = card_setup_finish(
        organization=owner.organization, setup_intent_id=setup_intent["id"], now=timezone.now()
    )

    assert again == card
    assert PaymentMethod.objects.count() == 1


def test_declined_card_is_refused_when_saving_and_nothing_is_saved(owner, stripe_server):
    client_secret = card_setup_start(organization=owner.organization, now=timezone.now())

    answer = stripe_server.confirm_setup_intent(client_secret, stripe_server.card(localstripe.DECLINED))

    assert answer["http_status"] == 402 and answer["error"]["message"] == "Your card was declined."
    with pytest.raises(CardSetupFailed):
        card_setup_finish(
            organization=owner.organization,
            setup_intent_id=client_secret.split("_secret_")[0],
            now=timezone.now(),
        )
    assert not PaymentMethod.objects.exists()


def test_declined_card_cannot_be_attached_behind_our_back(owner, stripe_server):
    customer = stripe_customer_get_or_create(organization=owner.organization, now=timezone.now())

    with pytest.raises(CardDeclined, match=r"Your card was declined\."):
        stripe_client.payment_method_attach(
            payment_method_id=stripe_server.card(localstripe.DECLINED), customer=customer.stripe_id
        )


def test_setup_intent_of_another_organization_is_refused(owner, stripe_server):
    stranger = MembershipFactory()
    client_secret = card_setup_start(organization=stranger.organization, now=timezone.now())
    stripe_server.confirm_setup_intent(client_secret, stripe_server.card(localstripe.VISA))
    stripe_customer_get_or_create(organization=owner.organization, now=timezone.now())

    with pytest.raises(CardSetupFailed) as error:
        card_setup_finish(
            organization=owner.organization,
            setup_intent_id=client_secret.split("_secret_")[0],
            now=timezone.now(),
        )

    assert error.value.code == "setup_foreign"
    assert not PaymentMethod.objects.exists()


def test_card_already_attached_by_stripe_is_not_attached_again(owner):
    customer = StripeCustomer.objects.create(
        organization=owner.organization, stripe_id="cus_1", created_at=timezone.now()
    )
    intent = stripe_client.SetupIntent(
        id="seti_1", status="succeeded", client_secret="x", customer="cus_1", payment_method="pm_1"
    )
    card = stripe_client.Card(
        id="pm_1", customer="cus_1", brand="mastercard", last4="4444", exp_month=1, exp_year=2031
    )
    with (
        mock.patch("credits.stripe_client.setup_intent_retrieve", return_value=intent),
        mock.patch("credits.stripe_client.payment_method_retrieve", return_value=card),
        mock.patch("credits.stripe_client.payment_method_attach") as attach,
    ):
        saved = card_setup_finish(
            organization=owner.organization, setup_intent_id="seti_1", now=timezone.now()
        )

    attach.assert_not_called()
    assert (saved.customer, saved.brand, saved.last4, saved.is_default) == (
        customer, "mastercard", "4444", True
    )


def test_removing_a_card_detaches_it_and_promotes_the_newest_other(owner, stripe_server):
    first = saved_card(owner.organization, localstripe.VISA, stripe_server)
    second = saved_card(owner.organization, localstripe.THREE_D_SECURE, stripe_server)

    card_remove(organization=owner.organization, payment_method_id=first.pk)

    assert list(PaymentMethod.objects.all()) == [second]
    second.refresh_from_db()
    assert second.is_default
    assert stripe_server.payment_method(first.stripe_id)["customer"] is None


def test_last_card_cannot_go_while_auto_recharge_runs(owner):
    card = PaymentMethodFactory(customer__organization=owner.organization, is_default=True)
    _plan(owner.organization)

    with mock.patch("credits.stripe_client.payment_method_detach") as detach:
        with pytest.raises(CardRemovalRefused):
            card_remove(organization=owner.organization, payment_method_id=card.pk)

    detach.assert_not_called()
    assert PaymentMethod.objects.filter(pk=card.pk).exists()


def test_card_named_by_auto_recharge_cannot_go_but_another_can(owner):
    named = PaymentMethodFactory(customer__organization=owner.organization, is_default=True)
    other = PaymentMethodFactory(customer=named.customer)
    _plan(owner.organization, payment_method_id=named.stripe_id)

    with mock.patch("credits.stripe_client.payment_method_detach"):
        with pytest.raises(CardRemovalRefused):
            card_remove(organization=owner.organization, payment_method_id=named.pk)
        card_remove(organization=owner.organization, payment_method_id=other.pk)

    assert list(PaymentMethod.objects.all()) == [named]


def test_last_card_can_go_once_auto_recharge_is_terminated(owner):
    card = PaymentMethodFactory(customer__organization=owner.organization, is_default=True)
    plan = _plan(owner.organization)
    plan.status = RechargeStatus.TERMINATED
    plan.save()

    with mock.patch("credits.stripe_client.payment_method_detach") as detach:
        card_remove(organization=owner.organization, payment_method_id=card.pk)

    detach.assert_called_once_with(payment_method_id=card.stripe_id)
    assert not PaymentMethod.objects.exists()


def test_page_lists_cards_with_brand_last4_expiry(owner_client, owner):
    PaymentMethodFactory(customer__organization=owner.organization, is_default=True, last4="1881",
                         exp_month=3, exp_year=2031)

    page = owner_client.get(reverse("credits:payment_methods")).content.decode()

    assert "Visa ending 1881" in page and "03/2031" in page and "Default" in page


def test_add_card_page_loads_stripe_js_and_passes_config_by_data_attributes(owner_client, stripe_server):
    response = owner_client.get(reverse("credits:card_add") + "?next=/billing/credit/buy/")

    page = response.content.decode()
    assert f'<script src="{stripe_server.url}/js.stripe.com/v3/"></script>' in page
    assert 'data-client-secret="seti_' in page
    assert 'data-publishable-key="pk_test_localstripe"' in page
    assert 'name="next" value="/billing/credit/buy/"' in page
    assert "<script>" not in page  # no inline script: CSP forbids it


def test_finish_view_saves_the_card_and_goes_back_to_buying(owner_client, owner, stripe_server):
    client_secret = owner_client.get(reverse("credits:card_add")).context["client_secret"]
    stripe_server.confirm_setup_intent(client_secret, stripe_server.card(localstripe.VISA))

    response = owner_client.post(
        reverse("credits:card_add_finish"),
        {"setup_intent": client_secret.split("_secret_")[0], "next": "/billing/credit/buy/"},
    )

    assert response["Location"] == "/billing/credit/buy/"
    assert PaymentMethod.objects.get().last4 == "4242"


def test_finish_view_ignores_foreign_next_urls(owner_client, stripe_server):
    client_secret = owner_client.get(reverse("credits:card_add")).context["client_secret"]
    stripe_server.confirm_setup_intent(client_secret, stripe_server.card(localstripe.VISA))

    response = owner_client.post(
        reverse("credits:card_add_finish"),
        {"setup_intent": client_secret.split("_secret_")[0], "next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("credits:payment_methods")


def test_remove_view_shows_the_refusal(owner_client, owner):
    card = PaymentMethodFactory(customer__organization=owner.organization, is_default=True)
    _plan(owner.organization)

    response = owner_client.post(reverse("credits:card_remove", args=[card.pk]), follow=True)

    assert "Auto-recharge charges this card" in response.content.decode()


def test_other_payment_methods_contact_form(owner_client, owner):
    response = owner_client.post(
        reverse("credits:payment_contact"),
        {"method": "bank_transfer", "message": "We pay by wire, quarterly."},
    )

    assert response.status_code == 302
    request = PaymentContactRequest.objects.get()
    assert (request.organization, request.requested_by, request.method) == (
        owner.organization, owner.user, "bank_transfer"
    )


def test_contact_form_needs_a_message(owner_client):
    response = owner_client.post(reverse("credits:payment_contact"), {"method": "invoice"})

    assert response.status_code == 400
    assert not PaymentContactRequest.objects.exists()
