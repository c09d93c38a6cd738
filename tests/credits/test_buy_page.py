"""The buy page: live preview (htmx partial), cards to choose, the refund policy link."""

import pytest
from django.urls import reverse

from tests.factories import PaymentMethodFactory

pytestmark = pytest.mark.django_db


def test_htmx_preview_shows_bonus_total_tier_limits_expiry_and_hint(owner_client):
    response = owner_client.get(reverse("credits:buy"), {"amount": "500"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert page.lstrip().startswith(
        '<section class="card" aria-labelledby="preview-heading" id="buy-preview"'
    )
    assert "<html" not in page
    assert '<dd id="preview-bonus">$25.00 (5%)</dd>' in page
    assert '<dd id="preview-total">$525.00</dd>' in page
    assert "Build" in page and "up from" in page
    assert "Solar Pro 2" in page
    assert 'id="preview-expiry"' in page and "end of this period" in page
    assert "Buying early in a period" in page


def test_preview_says_what_is_wrong_with_the_amount(owner_client):
    response = owner_client.get(reverse("credits:buy"), {"amount": "5"}, HTTP_HX_REQUEST="true")

    assert "The minimum is $10.00." in response.content.decode()


def test_buy_page_without_javascript_previews_from_the_query(owner_client, owner):
    PaymentMethodFactory(customer__organization=owner.organization, is_default=True)

    page = owner_client.get(reverse("credits:buy"), {"amount": "100"}).content.decode()

    assert '<dd id="preview-bonus">$3.00 (3%)</dd>' in page
    assert 'value="100"' in page
    assert "Visa ending 4242, expires 12/2034 (default)" in page
    assert 'checked' in page  # the default card is preselected
    assert f'href="{reverse("credits:refund_policy")}"' in page
    assert '<label for="id_accept_refund_policy">' in page


def test_buy_page_without_cards_points_to_adding_one(owner_client):
    page = owner_client.get(reverse("credits:buy")).content.decode()

    assert "No saved card yet" in page
    assert f'{reverse("credits:card_add")}?next={reverse("credits:buy")}' in page


def test_refund_policy_page_is_public_and_versioned(client):
    page = client.get(reverse("credits:refund_policy")).content.decode()

    assert "never used the API" in page
    assert "Policy version 2025-11-01" in page


def test_the_amount_bounds_on_the_page_come_from_the_one_definition(owner_client):
    # The page, the form and the service read credits.models.purchases; none repeats the figures.
    page = owner_client.get(reverse("credits:buy")).content.decode()

    assert 'min="10.00" max="100000.00"' in page
    assert "From $10 to $100,000, in dollars and cents." in page


def test_the_service_bounds_are_the_shared_ones():
    from credits.exceptions import InvalidAmount
    from credits.models.purchases import MAX_PURCHASE_CENTS, MIN_PURCHASE_CENTS
    from credits.services.purchases import validate_amount

    validate_amount(MIN_PURCHASE_CENTS)
    validate_amount(MAX_PURCHASE_CENTS)
    for outside in (MIN_PURCHASE_CENTS - 1, MAX_PURCHASE_CENTS + 1):
        with pytest.raises(InvalidAmount):
            validate_amount(outside)
