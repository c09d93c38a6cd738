"""Billing > History: every charge and refund with its receipt, and the same as CSV."""

import csv
from collections.abc import Iterable, Iterator

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.permissions import member_required
from credits.money import cents_to_decimal
from credits.selectors.history import (
    HISTORY_PAGE_SIZE,
    HistoryRow,
    all_history_rows,
    history_keys,
    history_rows,
)

CSV_HEADER = ["date", "kind", "reference", "amount_usd", "card", "status", "reason"]


@require_GET
@member_required
def billing_history(request):
    page = Paginator(history_keys(organization=request.organization), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "rows": history_rows(keys=list(page.object_list))}
    return render(request, "credits/history.html", context)


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream one by one."""

    def write(self, value: str) -> str:
        return value


def _spreadsheet_safe(text: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _csv_lines(rows: Iterable[HistoryRow]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for row in rows:
        yield writer.writerow([
            row.at.isoformat(), row.kind, row.reference,
            str(cents_to_decimal(row.amount_cents)), row.card, row.status,
            _spreadsheet_safe(row.reason),
        ])


@require_GET
@member_required
def billing_history_csv(request):
    response = StreamingHttpResponse(
        _csv_lines(all_history_rows(organization=request.organization)),
        content_type="text/csv; charset=utf-8",
    )
    name = f"billing-history-{request.organization.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
