"""Receipts: a page per charge and, once paid, its receipt as a PDF (laid out in credits/receipts_pdf.py)."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.permissions import member_required
from credits.models import PurchaseStatus
from credits.receipts_pdf import receipt_pdf_bytes
from credits.selectors.credit import credit_summary
from credits.selectors.history import charge_kind, receipt_of
from credits.selectors.payments import purchases_of


@require_GET
@member_required
def receipt(request, pk: int):
    purchase = get_object_or_404(purchases_of(organization=request.organization), pk=pk)
    context = {
        "purchase": purchase,
        "receipt": receipt_of(organization=request.organization, purchase_id=purchase.pk),
        "kind": charge_kind(purchase),
        "organization": request.organization,
        "summary": credit_summary(organization=request.organization, now=timezone.now()),
    }
    return render(request, "credits/receipt.html", context)


@require_GET
@member_required
def receipt_pdf(request, pk: int):
    found = receipt_of(organization=request.organization, purchase_id=pk)
    if found is None:
        raise Http404("Only a paid charge has a receipt to download.")
    refunded = found.purchase.status == PurchaseStatus.REFUNDED
    pdf = receipt_pdf_bytes(receipt=found, refunded=refunded)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{found.display_number}.pdf"'
    return response
