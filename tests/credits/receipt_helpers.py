"""Reading receipts back in tests: the PDF's text, and the receipt e-mails in the outbox."""

import io

from django.core import mail
from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def receipt_mails() -> list:
    return [m for m in mail.outbox if m.subject.startswith("Receipt ")]


def only_pdf(message) -> bytes:
    """The one attachment of a receipt e-mail, which must be a PDF."""
    assert len(message.attachments) == 1
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and name.endswith(".pdf")
    return content
