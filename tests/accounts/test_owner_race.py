"""Two owners demoting each other at the same moment must leave one owner."""

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.exceptions import AccountError
from accounts.models import Membership, Role
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_demotions_keep_an_owner():
    first = MembershipFactory(role=Role.OWNER)
    second = MembershipFactory(organization=first.organization, role=Role.OWNER)
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def demote(membership_id: int) -> None:
        try:
            membership = Membership.objects.get(pk=membership_id)
            barrier.wait()
            services.membership_change_role(membership=membership, role=Role.MEMBER)
        except AccountError as error:
            errors.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(m.pk,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    owners = Membership.objects.filter(organization=first.organization, role=Role.OWNER)
    assert owners.count() == 1
    assert errors == ["last_owner"]
