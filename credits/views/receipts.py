"""Receipts: a page per purchase and the same as a PDF (fpdf2)."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from fpdf import FPDF

from accounts.permissions import member_required
from credits.models import Purchase, PurchaseStatus
from credits.money import cents_to_micros, format_usd
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
    response = HttpResponse(_pdf(purchase), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{purchase.receipt_number}.pdf"'
    return response


def _latin1(text: str) -> str:
    # The PDF core fonts only know Latin-1; anything else (an organization named in
    # Korean, say) is shown as "?" rather than failing the download.
    return text.encode("latin-1", "replace").decode("latin-1")


def _pdf(purchase: Purchase) -> bytes:
    card = f"{purchase.card_brand.title()} ending {purchase.card_last4}" if purchase.card_last4 else "Card"
    paid_on = purchase.granted_at or purchase.created_at
    rows = [
        ("Receipt number", purchase.receipt_number),
        ("Date", f"{paid_on:%B %-d, %Y %H:%M} UTC"),
        ("Billed to", purchase.organization.name),
        ("Paid with", card),
        ("Credits bought", format_usd(cents_to_micros(purchase.amount_cents))),
        ("Bonus credits", format_usd(cents_to_micros(purchase.bonus_cents))),
        ("Total credits", format_usd(cents_to_micros(purchase.amount_cents + purchase.bonus_cents))),
        ("Amount paid", f"{format_usd(cents_to_micros(purchase.amount_cents))} USD"),
    ]
    if purchase.status == PurchaseStatus.REFUNDED:
        rows.append(("Status", "Refunded"))
    pdf = FPDF(format="A4")
    pdf.set_title(f"Receipt {purchase.receipt_number}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, "AI API Billing - Receipt", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(50, 8, _latin1(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.cell(0, 8, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(0, 5, "Prepaid credits for the AI API. Paid credits never expire; bonus credits "
                   "expire at the end of the commitment period in which they were bought.")
    return bytes(pdf.output())
