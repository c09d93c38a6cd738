"""The receipt PDF layout (fpdf2): what a downloaded receipt shows, apart from the view that serves it."""

from fpdf import FPDF

from credits.models import Purchase, PurchaseStatus
from credits.money import cents_to_micros, format_usd


def _latin1(text: str) -> str:
    # The PDF core fonts only know Latin-1; anything else (an organization named in
    # Korean, say) is shown as "?" rather than failing the download.
    return text.encode("latin-1", "replace").decode("latin-1")


def receipt_pdf_bytes(purchase: Purchase) -> bytes:
    """The receipt of a paid (or since refunded) purchase as an A4 PDF."""
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
