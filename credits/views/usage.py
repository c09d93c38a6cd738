"""Billing > Usage: daily usage per model (chart, table and CSV) and the ledger with CSV export."""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.permissions import member_required
from credits.forms.usage import UsageFilterForm
from credits.models import LedgerEntry
from credits.money import micros_to_plain
from credits.selectors.ledger import ledger_entries, ledger_page
from credits.selectors.usage import DailyUsage, daily_usage
from credits.usage_chart import usage_chart

LEDGER_PAGE_SIZE = 25
CSV_HEADER = [
    "created_at", "kind", "lot", "amount_usd", "amount_micros",
    "balance_after_usd", "balance_after_micros", "reference", "memo",
    "description", "model", "calls", "input_tokens", "output_tokens", "pages",
]
USAGE_CSV_HEADER = [
    "day", "model", "model_name", "calls", "input_tokens", "output_tokens", "pages",
    "cost_usd", "cost_micros",
]


@require_GET
@member_required
def usage(request):
    form = UsageFilterForm(request.GET or None, today=timezone.now().date())
    chosen = form.usage_filter()
    rows = daily_usage(organization=request.organization, start=chosen.start, end=chosen.end)
    entries = ledger_entries(
        organization=request.organization, kind=chosen.kind, start=chosen.start, end=chosen.end
    )
    return render(request, "credits/usage.html", {
        "form": form,
        "chosen": chosen,
        "rows": rows,
        "total_micros": sum(row.cost_micros for row in rows),
        "chart": usage_chart(rows=rows, start=chosen.start, end=chosen.end),
        "ledger_page": ledger_page(
            entries, before=request.GET.get("before"), after=request.GET.get("after"), size=LEDGER_PAGE_SIZE
        ),
    })


class _Echo:
    """csv.writer writes into this and gets the line back, so rows stream one by one."""

    def write(self, value: str) -> str:
        return value


def _spreadsheet_safe(text: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _csv_lines(entries: Iterable[LedgerEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for entry in entries:
        yield writer.writerow([
            entry.created_at.isoformat(), entry.kind, entry.lot.kind,
            micros_to_plain(entry.amount_micros), entry.amount_micros,
            micros_to_plain(entry.balance_after_micros), entry.balance_after_micros,
            _spreadsheet_safe(entry.reference), _spreadsheet_safe(entry.memo),
            entry.description, entry.api_model.slug if entry.api_model else "", entry.calls,
            entry.input_tokens, entry.output_tokens, entry.pages,
        ])


@require_GET
@member_required
def ledger_csv(request):
    chosen = UsageFilterForm(request.GET or None, today=timezone.now().date()).usage_filter()
    entries = ledger_entries(
        organization=request.organization, kind=chosen.kind, start=chosen.start, end=chosen.end
    )
    response = StreamingHttpResponse(
        _csv_lines(entries.iterator(chunk_size=2_000)), content_type="text/csv; charset=utf-8"
    )
    name = f"ledger-{request.organization.pk}-{chosen.start}-{chosen.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _usage_csv_lines(rows: list[DailyUsage]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(USAGE_CSV_HEADER)
    for row in rows:
        yield writer.writerow([
            row.day.isoformat(), row.model_slug, row.model_name, row.events, row.input_tokens,
            row.output_tokens, row.pages, micros_to_plain(row.cost_micros), row.cost_micros,
        ])


@require_GET
@member_required
def usage_csv(request):
    """Usage per model per UTC day of the chosen range, from the daily rollups."""
    chosen = UsageFilterForm(request.GET or None, today=timezone.now().date()).usage_filter()
    rows = daily_usage(organization=request.organization, start=chosen.start, end=chosen.end)
    response = StreamingHttpResponse(_usage_csv_lines(rows), content_type="text/csv; charset=utf-8")
    name = f"usage-{request.organization.pk}-{chosen.start}-{chosen.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
