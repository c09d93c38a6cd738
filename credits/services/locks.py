"""The one lock order for money rows, and the functions that take those locks.

Every service that locks more than one of these rows takes them in this order, through the
functions below, so two transactions never wait on each other in a circle:

1. The claimed work row: a RechargeCharge, an OverageCharge, a RefundRequest, or the
   StripeEvent a webhook is processing (`lock_work_row`, or a SKIP LOCKED claim). It comes
   first because a claim may be held across a Stripe call, and nothing that usage needs may
   be held then. A transaction holds one work row, except a webhook: its event row comes
   first, then the row its handler finishes (a refund request).
2. The organization's CreditAccount (`lock_account`, or `lock_accounts` for several, in
   organization order): every balance change serializes on it.
3. The Purchase (`lock_purchase` takes 2 and 3 together).
4. The AutoRecharge plan (`lock_plan`), updated last. Scheduling a plan's charges, and
   staff pausing or resuming it, lock the plan alone (through `lock_work_row`, or skipping
   locked plans) and take no other lock of this list while holding it.

Rows that belong to the account (its lots, entries and commitment periods) are written
under the account's lock; the receipt number sequence is taken last, when a grant commits.
tests/credits/test_lock_order.py keeps every lock of these rows in this module (the job's
SKIP LOCKED claims excepted).

Every lock here is FOR NO KEY UPDATE of the row alone: exclusive between writers, but not
against the key-share locks that the foreign-key checks of inserts pointing at the row take
(a lock that also covered a joined organization would collide with those of every insert
for that organization).
"""

from django.db import models, transaction

from accounts.models import Organization
from billing_portal.compiled_queries import compiled_rows
from credits.models import AutoRecharge, CreditAccount, Purchase


def _require_transaction(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{name} must run inside transaction.atomic().")


def lock_work_row[M: models.Model](model: type[M], *, pk: int, related: tuple[str, ...] = ()) -> M:
    """Step 1 (or a plan alone): the row, locked, then read afresh with `related` by a second
    statement.

    A locking SELECT that joins other tables re-reads only the locked row when a concurrent
    commit changed it and keeps the joined rows as its snapshot saw them: a worker claiming
    a charge that another worker had just paid would see the purchase without its intent
    and charge the card again. So the lock statement reads nothing else."""
    _require_transaction("lock_work_row")
    model._default_manager.select_for_update(no_key=True, of=("self",)).filter(pk=pk).values_list("pk").get()
    rows = model._default_manager.select_related(*related) if related else model._default_manager
    return rows.get(pk=pk)


def lock_account(*, organization: Organization) -> CreditAccount:
    """Step 2: the organization's account, locked for this transaction."""
    _require_transaction("lock_account")
    # Accounts exist from the organization's creation; get_or_create stays in this one write
    # path so an organization made some other way (a shell, a script) is still billed.
    CreditAccount.objects.get_or_create(organization=organization)
    return CreditAccount.objects.select_for_update(no_key=True).get(organization=organization)


def _accounts_locked(*, organization_ids: list[int]) -> models.QuerySet[CreditAccount]:
    return (
        CreditAccount.objects.select_for_update(no_key=True)
        .filter(organization_id__in=organization_ids)
        .order_by("organization_id")
    )


class AccountsMissing(Exception):
    """`lock_accounts` found organizations without a credit account (only a shell or a script
    makes one without). It creates none: the rows it already holds may come after a missing
    one in organization order, and locking that one now would take the locks out of order
    (two batches would then wait on each other). The caller rolls its transaction back,
    which lets go of them, creates the accounts on their own and tries again."""

    def __init__(self, organization_ids: list[int]):
        super().__init__(f"No credit account for organizations {organization_ids}.")
        self.organization_ids = organization_ids


def lock_accounts(*, organization_ids: list[int]) -> dict[int, CreditAccount]:
    """Step 2 for several organizations, locked in one query in organization order, so two
    usage batches naming the same organizations never deadlock. Returns them by organization
    id; when one has no account, raises AccountsMissing before it could take a lock out of
    order. (Every usage post takes it: compiled once per process.)"""
    _require_transaction("lock_accounts")
    wanted = sorted(set(organization_ids))
    rows = compiled_rows(CreditAccount, _accounts_locked, organization_ids=wanted)
    accounts = {account.organization_id: account for account in rows}
    if len(accounts) < len(wanted):
        raise AccountsMissing([pk for pk in wanted if pk not in accounts])
    return accounts


def lock_purchase(*, purchase_id: int) -> tuple[CreditAccount, Purchase]:
    """Steps 2 and 3: the purchase's account, then the purchase."""
    _require_transaction("lock_purchase")
    organization_id = Purchase.objects.values_list("organization_id", flat=True).get(pk=purchase_id)
    account = lock_account(organization=Organization(pk=organization_id))
    return account, Purchase.objects.select_for_update(no_key=True).get(pk=purchase_id)


def lock_plan(*, organization: Organization) -> AutoRecharge | None:
    """Step 4: the organization's auto-recharge plan, if it has one (after its account)."""
    _require_transaction("lock_plan")
    plans = AutoRecharge.objects.select_for_update(no_key=True, of=("self",))
    return plans.filter(organization=organization).first()
