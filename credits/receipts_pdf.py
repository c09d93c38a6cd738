"""The receipt PDF layout (fpdf2): what the receipt page shows, from the receipt's frozen copy."""

from fpdf import FPDF

from credits.models import Receipt
from credits.money import cents_to_micros, format_usd


def _latin1(text: str) -> str:
    # The PDF core fonts only know Latin-1; anything else (an organization named in
    # Korean, say) is shown as "?" rather than failing the download.
    return text.encode("latin-1", "replace").decode("latin-1")


def card_label(brand: str, last4: str) -> str:
    return f"{brand.title()} ending {last4}" if last4 else "Card on file"


def receipt_pdf_bytes(*, receipt: Receipt, refunded: bool) -> bytes:
    """The receipt of a paid (or since refunded) charge as an A4 PDF."""
    def usd(cents: int) -> str:
        return format_usd(cents_to_micros(cents))

    pdf = FPDF(format="A4")
    pdf.set_title(f"Receipt {receipt.display_number}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 12, "Receipt", new_x="LMARGIN", new_y="NEXT")
    if refunded:
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, "REFUNDED", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def block(title: str, lines: list[str]) -> None:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, _latin1(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for line in lines:
            if line:
                pdf.multi_cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    block("From", [receipt.seller_name, receipt.seller_address, receipt.seller_tax_id])
    block(
        "Billed to",
        [
            receipt.buyer_legal_name,
            receipt.buyer_address,
            receipt.buyer_country,
            f"Tax ID: {receipt.buyer_tax_id}" if receipt.buyer_tax_id else "",
            receipt.buyer_email,
        ],
    )
    rows = [
        ("Receipt number", receipt.display_number),
        ("Date paid", f"{receipt.issued_at:%B %-d, %Y %H:%M} UTC"),
        ("Charge", receipt.get_kind_display()),
        ("Paid with", card_label(receipt.card_brand, receipt.card_last4)),
        ("Credits bought", usd(receipt.amount_cents)),
        ("Bonus credits", usd(receipt.bonus_cents)),
        ("Total credits", usd(receipt.amount_cents + receipt.bonus_cents)),
        ("Amount paid", f"{usd(receipt.amount_cents)} USD"),
        ("Refund policy", _policy(receipt)),
    ]
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(50, 7, _latin1(label))
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 7, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        0,
        5,
        "Prepaid credits for the AI API. Paid credits never expire; bonus credits expire at "
        "the end of the commitment period in which they were bought.",
    )
    return bytes(pdf.output())


def _policy(receipt: Receipt) -> str:
    if not receipt.refund_policy_version:
        return "Not applicable" if receipt.kind == "overage" else "Not recorded"
    accepted = receipt.refund_policy_accepted_at
    when = f", accepted {accepted:%b %-d, %Y}" if accepted else ""
    return f"Version {receipt.refund_policy_version}{when}"
