"""Receipts: a page per purchase and the same as a PDF (laid out in credits/receipts_pdf.py)."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.permissions import member_required
from credits.models import PurchaseStatus
from credits.receipts_pdf import receipt_pdf_bytes
from credits.selectors.credit import credit_summary
from credits.selectors.payments import purchases_of


@require_GET
@member_required
def receipt(request, pk: int):
    purchase = get_object_or_404(purchases_of(organization=request.organization), pk=pk)
    summary = credit_summary(organization=request.organization, now=timezone.now())
    context = {"purchase": purchase, "organization": request.organization, "summary": summary}
    return render(request, "credits/receipt.html", context)


@require_GET
@member_required
def receipt_pdf(request, pk: int):
    purchase = get_object_or_404(purchases_of(organization=request.organization), pk=pk)
    if purchase.status not in (PurchaseStatus.SUCCEEDED, PurchaseStatus.REFUNDED):
        raise Http404("Only a paid purchase has a receipt to download.")
    response = HttpResponse(receipt_pdf_bytes(purchase), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{purchase.receipt_number}.pdf"'
    return response
