import pytest
from django.core.management import call_command

from accounts.models import Membership, Role, User
from credits.models import Purchase, UsageEvent
from credits.selectors.ledger import ledger_invariant_violations

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_leaves_sound_books(capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    owner = User.objects.get(email="owner@example.com")
    assert owner.check_password("demo-pass-123")
    assert Membership.objects.filter(user=owner, role=Role.OWNER).count() == 1
    assert User.objects.get(email="staff@example.com").is_superuser
    assert Purchase.objects.count() == 1
    assert UsageEvent.objects.count() == 28
    assert ledger_invariant_violations() == []
    assert "owner@example.com / demo-pass-123" in capsys.readouterr().out
