"""The lock order has one home: credits/services/locks.py. Every row lock on a money row is
taken there, so the order it documents is the order every path takes."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MONEY_ROWS = (
    "CreditAccount", "Purchase", "RechargeCharge", "OverageCharge", "RefundRequest", "StripeEvent",
    "AutoRecharge",
)
LOCK = re.compile(r"\b(?P<model>\w+)\.(?:objects|_default_manager)\.select_for_update\((?P<args>[^)]*)\)")


def _locks_outside_the_lock_module(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "credits").rglob("*.py")):
        if path.name == "locks.py" or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in LOCK.finditer(line):
                # The job's claims skip what another worker holds: they never wait, so they
                # cannot take part in a wait cycle.
                if match["model"] in MONEY_ROWS and "skip_locked=True" not in match["args"]:
                    found.append(f"{path.relative_to(root)}:{number} locks {match['model']}")
    return found


def test_money_rows_are_locked_only_through_the_lock_module():
    assert _locks_outside_the_lock_module(ROOT) == []


def test_the_check_sees_a_lock_taken_elsewhere(tmp_path):
    (tmp_path / "credits").mkdir()
    (tmp_path / "credits" / "bad.py").write_text(
        "Purchase.objects.select_for_update().get(pk=1)\n"
        "RechargeCharge.objects.select_for_update(skip_locked=True, of=('self',)).first()\n"
    )
    assert _locks_outside_the_lock_module(tmp_path) == ["credits/bad.py:1 locks Purchase"]


@pytest.mark.parametrize(
    "name", ["lock_work_row", "lock_account", "lock_accounts", "lock_purchase", "lock_plan"]
)
def test_each_lock_refuses_to_run_outside_a_transaction(name, transactional_db):
    # A lock outside a transaction would be released at once: a silent no-op.
    from credits.services import locks

    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        if name == "lock_work_row":
            locks.lock_work_row(locks.Purchase, pk=1)
        elif name == "lock_purchase":
            locks.lock_purchase(purchase_id=1)
        elif name == "lock_accounts":
            locks.lock_accounts(organization_ids=[1])
        else:
            getattr(locks, name)(organization=None)
