"""Rebuild every account's commitment-period timeline from its purchases and its plan.

Before this, periods were recomputed from the account's current anchor and kind, which a plan
save rewrote, so stored periods could overlap and a month's purchases split across rows. Here
each account gets schedules (its first purchase's day; its plan's billing date and frequency
from that date; a termination's monthly periods from the end of the period it fell in), the
periods those cut from the first purchase through today, each granted purchase in the period
holding its grant day, and each period's total, tier and hold date recomputed.
What the old rows cannot tell (a plan's earlier settings) is not invented: the plan's current
settings stand for its whole life.
"""

from django.db import migrations
from django.utils import timezone

RANK = {"none": 0, "explore": 1, "build": 2, "scale": 3, "enterprise": 4}


def rebuild(apps, schema_editor):
    from credits.selectors.periods import Schedule, cut_period, first_purchase_schedule

    CreditAccount = apps.get_model("credits", "CreditAccount")
    CommitmentPeriod = apps.get_model("credits", "CommitmentPeriod")
    CommitmentSchedule = apps.get_model("credits", "CommitmentSchedule")
    Purchase = apps.get_model("credits", "Purchase")
    AutoRecharge = apps.get_model("credits", "AutoRecharge")
    TierThreshold = apps.get_model("credits", "TierThreshold")
    now = timezone.now()
    today = now.date()
    thresholds = list(TierThreshold.objects.values_list("period", "tier", "min_amount_cents"))

    def earned(kind, cents):
        best = "none"
        for period, tier, minimum in thresholds:
            if period == kind and cents >= minimum and RANK[tier] > RANK[best]:
                best = tier
        return best

    for account in CreditAccount.objects.order_by("pk"):
        Purchase.objects.filter(organization_id=account.organization_id).update(period=None)
        CommitmentPeriod.objects.filter(account=account).delete()
        CommitmentSchedule.objects.filter(account=account).delete()
        bought = list(
            Purchase.objects.filter(
                organization_id=account.organization_id, granted_at__isnull=False
            )
            .exclude(source="overage")
            .order_by("granted_at", "pk")
        )
        plan = AutoRecharge.objects.filter(organization_id=account.organization_id).first()
        first_day = bought[0].granted_at.date() if bought else None
        rows = []  # (schedule, source, replaced_at)
        if plan is not None:
            rows.append((Schedule(plan.frequency, plan.billing_date, plan.billing_date), "plan", None))
        if first_day is not None and (plan is None or plan.billing_date > first_day):
            rows.append((first_purchase_schedule(first_day), "first_purchase", None))
        rows.sort(key=lambda row: row[0].effective_from)
        if plan is not None and plan.status == "terminated" and plan.terminated_at is not None:
            ended_on = plan.terminated_at.date()
            if plan.billing_date > ended_on:
                # Terminated before its first billing date: it never cut a period.
                rows = [
                    (s, source, plan.terminated_at if source == "plan" else None)
                    for s, source, _ in rows
                ]
            else:
                in_force = [s for s, _, replaced in rows if replaced is None]
                current = cut_period(in_force, ended_on)
                if current is not None:
                    monthly = Schedule("monthly", plan.billing_date, current.ends_on)
                    rows.append((monthly, "termination", None))
        for schedule, source, replaced_at in rows:
            CommitmentSchedule.objects.create(
                account=account,
                kind=schedule.kind,
                anchor_on=schedule.anchor_on,
                effective_from=schedule.effective_from,
                source=source,
                recorded_at=now,
                replaced_at=replaced_at,
            )
        if not bought:
            continue
        schedules = sorted(
            [s for s, _, replaced in rows if replaced is None], key=lambda s: s.effective_from
        )
        last_day = max(today, bought[-1].granted_at.date())
        periods = []
        bounds = cut_period(schedules, first_day)
        while True:
            following = cut_period(schedules, bounds.ends_on)
            periods.append(
                CommitmentPeriod.objects.create(
                    account=account,
                    kind=bounds.kind,
                    starts_on=bounds.starts_on,
                    ends_on=bounds.ends_on,
                    follows_on=periods[-1].ends_on if periods else None,
                    tier_held_until=following.ends_on,
                )
            )
            if bounds.ends_on > last_day:
                break
            bounds = following
        for purchase in bought:
            day = purchase.granted_at.date()
            period = next(p for p in periods if p.starts_on <= day < p.ends_on)
            purchase.period = period
            purchase.save(update_fields=["period"])
            if purchase.status == "succeeded":
                period.purchased_cents += purchase.amount_cents
        for period in periods:
            period.tier_earned = earned(period.kind, period.purchased_cents)
            period.save(update_fields=["purchased_cents", "tier_earned"])


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0018_commitment_schedule"),
    ]

    operations = [
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
