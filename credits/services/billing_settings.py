"""Billing > Settings: the billing details on future receipts, and the alerts."""

from datetime import datetime

from django.db import transaction

from accounts.models import Organization
from accounts.services import audit_record
from credits.exceptions import CreditsError
from credits.models import AlertSettings, BillingDetails, LowBalanceMode
from credits.models.billing_settings import MAX_DAYS, AlertsInput, BillingDetailsInput
from credits.selectors.process_cache import forget_process_cache
from credits.services.alerts import check_alerts


@transaction.atomic
def billing_details_save(
    *, organization: Organization, details: BillingDetailsInput, user, now: datetime
) -> BillingDetails:
    """Receipts issued from now on carry these; receipts already issued keep their copy."""
    row = BillingDetails.objects.select_for_update().filter(organization=organization).first()
    before = None if row is None else {"legal_name": row.legal_name, "country": row.country}
    if row is None:
        row = BillingDetails(organization=organization)
    for field, value in vars(details).items():
        setattr(row, field, value.strip())
    row.updated_at, row.updated_by = now, user
    row.full_clean()
    row.save()
    audit_record(
        actor=user,
        action="billing_details_save",
        obj=row,
        before=before,
        after={"legal_name": row.legal_name, "country": row.country},
        organization=organization,
        now=now,
    )
    return row


def _validate(alerts: AlertsInput) -> None:
    if alerts.low_balance_mode not in LowBalanceMode.values:
        raise CreditsError("Choose how the low-balance alert works.", code="invalid_mode")
    if alerts.low_balance_mode == LowBalanceMode.AMOUNT and alerts.low_balance_threshold_micros <= 0:
        raise CreditsError("Set the balance that triggers the alert.", code="invalid_threshold")
    if alerts.low_balance_mode == LowBalanceMode.DAYS and not 1 <= alerts.low_balance_days <= MAX_DAYS:
        raise CreditsError(f"Choose between 1 and {MAX_DAYS} days.", code="invalid_days")
    if alerts.budget_micros is not None and alerts.budget_micros <= 0:
        raise CreditsError("A budget must be more than zero.", code="invalid_budget")


def alert_settings_save(
    *, organization: Organization, alerts: AlertsInput, user, now: datetime
) -> AlertSettings:
    """Save the alerts; a changed alert is re-armed and checked at once after commit, so a
    threshold set above today's balance alerts now rather than at the next usage."""
    _validate(alerts)
    with transaction.atomic():
        row = AlertSettings.objects.select_for_update().filter(organization=organization).first()
        if row is None:
            row = AlertSettings(organization=organization)
        low_changed = (
            row.pk is None
            or row.low_balance_mode != alerts.low_balance_mode
            or row.low_balance_threshold_micros != alerts.low_balance_threshold_micros
            or row.low_balance_days != alerts.low_balance_days
        )
        if low_changed:
            row.low_balance_below = False
        if row.budget_micros != alerts.budget_micros:
            row.budget_month, row.budget_level_sent = None, 0
        row.low_balance_mode = alerts.low_balance_mode
        row.low_balance_threshold_micros = alerts.low_balance_threshold_micros
        row.low_balance_days = alerts.low_balance_days
        row.budget_micros = alerts.budget_micros
        row.updated_at = now
        row.full_clean()
        row.save()
        audit_record(
            actor=user,
            action="alert_settings_save",
            obj=row,
            after={
                "low_balance_mode": row.low_balance_mode,
                "low_balance_threshold_micros": row.low_balance_threshold_micros,
                "low_balance_days": row.low_balance_days,
                "budget_micros": row.budget_micros,
            },
            organization=organization,
            now=now,
        )
        # This process sees the new alert at once (other workers within PROCESS_CACHE_SECONDS).
        transaction.on_commit(forget_process_cache)
        transaction.on_commit(
            lambda: check_alerts(organization_ids=[organization.pk], now=now), robust=True
        )
    return row
