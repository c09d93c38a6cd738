import re

import pytest
from playwright.sync_api import Page, expect

from credits.models import ApplicationStatus, ProgramApplication

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# The smallest file every PDF reader opens: one empty page.
TINY_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_apply_with_a_pdf_and_see_the_confirmation(page: Page, live_server, tmp_path):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    proof = tmp_path / "registration.pdf"
    proof.write_bytes(TINY_PDF)
    page.goto(f"{live_server.url}/programs/apply/")

    page.get_by_label("Organization name").fill("Northside Primary School")
    page.get_by_label("Type of organization").select_option("school")
    page.get_by_label("Country").fill("Ireland")
    page.get_by_label("Website").fill("https://northside.example.ie")
    page.get_by_label("Contact name").fill("Aoife Byrne")
    page.get_by_label("Contact email").fill("principal@northside.example.ie")
    page.get_by_label("How will you use the models?").fill("Lesson planning and reading help.")
    page.get_by_label("Proof of eligibility").set_input_files(str(proof))
    page.get_by_role("button", name="Submit application").click()

    expect(page).to_have_url(re.compile(r"/programs/status/[\w-]+/$"))
    expect(page.get_by_text("Application received")).to_be_visible()
    expect(page.locator("#application-status")).to_have_text("Submitted, waiting for review")
    application = ProgramApplication.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.documents.get().content_type == "application/pdf"
    assert errors == []
