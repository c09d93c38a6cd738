"""factory-boy factories for the whole suite."""

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Invitation, Membership, Organization, Role, User
from credits.services.ledger import credit_account_create

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Org {n}")
    created_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def credit_account(obj, create, extracted, **kwargs):
        # As accounts.services.organization_create does through ORGANIZATION_CREATED_HOOKS.
        if create:
            credit_account_create(organization=obj)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.OWNER


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MEMBER


def paid_purchase(organization, amount_cents: int, now, key: str | None = None):
    """A purchase created and granted through the real services, as Stripe success would."""
    from credits.services.purchases import purchase_create, record_purchase

    purchase = purchase_create(
        organization=organization,
        amount_cents=amount_cents,
        key=key or f"test-{organization.pk}-{amount_cents}-{now.isoformat()}-{_counter()}",
        created_by=None,
        refund_policy_version="test",
        refund_policy_accepted_at=now,
        now=now,
    )
    return record_purchase(purchase_id=purchase.pk, now=now)


_sequence = iter(range(1, 10**9))


def _counter() -> int:
    return next(_sequence)


class ProgramApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "credits.ProgramApplication"

    organization_name = factory.Sequence(lambda n: f"Hillside School {n}")
    kind = "school"
    country = "Kenya"
    website = "https://hillside.example.org"
    contact_name = "Amani Otieno"
    contact_email = factory.Sequence(lambda n: f"head{n}@hillside.example.org")
    intended_use = "Reading support for pupils and summarising school records."
    submitted_at = factory.LazyFunction(timezone.now)


class ProgramGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "credits.ProgramGrant"

    organization = factory.SubFactory(OrganizationFactory)
    starts_at = factory.LazyFunction(timezone.now)
    ends_at = factory.LazyAttribute(lambda grant: grant.starts_at + timedelta(days=365))


class StripeCustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "credits.StripeCustomer"

    organization = factory.SubFactory(OrganizationFactory)
    stripe_id = factory.Sequence(lambda n: f"cus_test{n:06d}")
    created_at = factory.LazyFunction(timezone.now)


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    """A saved card row only (no Stripe behind it): for tests that patch stripe_client."""

    class Meta:
        model = "credits.PaymentMethod"

    customer = factory.SubFactory(StripeCustomerFactory)
    stripe_id = factory.Sequence(lambda n: f"pm_test{n:06d}")
    brand = "visa"
    last4 = "4242"
    exp_month = 12
    exp_year = 2034
    is_default = False
    created_at = factory.LazyFunction(timezone.now)


def saved_card(organization, number: str, stripe_server):
    """A card saved the way the page does it: SetupIntent, Stripe.js confirm, our finish step."""
    from credits.services.cards import card_setup_finish, card_setup_start

    now = timezone.now()
    client_secret = card_setup_start(organization=organization, now=now)
    stripe_server.confirm_setup_intent(client_secret, stripe_server.card(number))
    return card_setup_finish(
        organization=organization, setup_intent_id=client_secret.split("_secret_")[0], now=now
    )
