"""The program's pages: the public form, the status link, staff-only downloads, admin decisions."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from credits.models import (
    ApplicationStatus,
    EnterpriseInquiry,
    ProgramApplication,
    ProgramDocument,
    ProgramGrant,
)
from credits.selectors.programs import one_year_after
from credits.services import program_applications
from tests.factories import (
    MembershipFactory,
    ProgramApplicationFactory,
    ProgramGrantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
APPLY = "/programs/apply/"


@pytest.fixture(autouse=True)
def _media(private_media):
    return private_media


def _form(**overrides) -> dict:
    return {
        "organization_name": "Hilltop Food Bank",
        "kind": "nonprofit",
        "country": "Canada",
        "website": "https://hilltop.example.org",
        "contact_name": "Sam Lee",
        "contact_email": "sam@hilltop.example.org",
        "intended_use": "Sorting donation letters.",
        "document": SimpleUploadedFile("charity.pdf", PDF, content_type="application/pdf"),
        **overrides,
    }


def _submitted_application() -> ProgramApplication:
    return program_applications.program_apply(
        **_form(),
        status_url="http://testserver/programs/status/{token}/",
        now=timezone.now(),
    )


def test_apply_page_is_public_and_every_input_is_labelled(client):
    html = client.get(APPLY).content.decode()

    for name in [
        "organization_name",
        "kind",
        "country",
        "website",
        "contact_name",
        "contact_email",
        "intended_use",
        "document",
    ]:
        assert f'<label for="id_{name}"' in html, name
    assert 'enctype="multipart/form-data"' in html


def test_a_valid_application_lands_on_its_status_page(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(APPLY, _form(), follow=True)

    application = ProgramApplication.objects.get()
    assert response.redirect_chain == [(f"/programs/status/{application.status_token}/", 302)]
    html = response.content.decode()
    assert "Application received" in html
    assert "Submitted, waiting for review" in html
    assert ProgramDocument.objects.filter(application=application).count() == 1
    assert mail.outbox[0].to == ["sam@hilltop.example.org"]
    assert f"http://testserver/programs/status/{application.status_token}/" in mail.outbox[0].body


def test_a_renamed_executable_is_refused_with_a_clear_message(client):
    fake = SimpleUploadedFile("charity.pdf", b"MZ\x90\x00\x03", content_type="application/pdf")

    response = client.post(APPLY, _form(document=fake))

    assert response.status_code == 200
    assert "This file is not a PDF, PNG or JPEG" in response.content.decode()
    assert ProgramApplication.objects.count() == 0


def test_an_oversize_file_is_refused_with_a_clear_message(client, monkeypatch):
    # A smaller limit keeps the test quick; the service test uploads the real 10 MB + 1 byte.
    monkeypatch.setattr(program_applications, "MAX_DOCUMENT_BYTES", 1024 * 1024)
    big = SimpleUploadedFile("charity.pdf", PDF + b"0" * (1024 * 1024), content_type="application/pdf")

    response = client.post(APPLY, _form(document=big))

    assert "The file is larger than 1 MB" in response.content.decode()
    assert ProgramApplication.objects.count() == 0


def test_field_limits_are_enforced(client):
    response = client.post(
        APPLY, _form(organization_name="x" * 201, intended_use="y" * 4001, kind="bank")
    )

    html = response.content.decode()
    assert "at most 200 characters" in html
    assert "at most 4000 characters" in html
    assert "Select a valid choice" in html
    assert ProgramApplication.objects.count() == 0


def test_an_unknown_status_token_is_404(client):
    assert client.get("/programs/status/not-a-token/").status_code == 404


def test_the_applicant_adds_a_document_when_asked(client):
    application = _submitted_application()
    program_applications.program_request_info(
        application=application,
        reviewer=UserFactory(is_staff=True),
        message="Your registration number, please.",
        status_url="x{token}",
        now=timezone.now(),
    )
    url = f"/programs/status/{application.status_token}/"
    assert "Your registration number, please." in client.get(url).content.decode()

    png = SimpleUploadedFile("reg.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, content_type="image/png")
    response = client.post(url, {"document": png}, follow=True)

    assert "Thank you, we received your document." in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.documents.count() == 2


def test_documents_cannot_be_added_while_not_asked(client):
    application = _submitted_application()
    png = SimpleUploadedFile("reg.png", b"\x89PNG\r\n\x1a\n", content_type="image/png")

    response = client.post(f"/programs/status/{application.status_token}/", {"document": png})

    assert response.status_code == 200
    assert application.documents.count() == 1


def test_documents_are_not_served_publicly_and_only_staff_download_them(client):
    document = _submitted_application().documents.get()
    url = reverse("credits:program_document", args=[document.pk])

    anonymous = client.get(url)
    client.force_login(MembershipFactory(role="owner").user)
    customer = client.get(url)
    client.force_login(UserFactory(is_staff=True))
    staff_without_permission = client.get(url)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    staff = client.get(url)

    assert anonymous.status_code == 302
    assert customer.status_code == 302
    assert customer["Location"].startswith("/admin/login/")
    assert staff_without_permission.status_code == 403
    assert staff.status_code == 200
    assert b"".join(staff.streaming_content) == PDF
    assert staff["Content-Type"] == "application/pdf"
    assert staff["Content-Disposition"].startswith("attachment;")
    # No URL maps the media directory.
    assert client.get(f"/media/{document.file.name}").status_code == 404
    assert client.get(f"/{document.file.name}").status_code == 404


@pytest.fixture
def admin_client_(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_approve_in_admin(admin_client_, django_capture_on_commit_callbacks):
    application = ProgramApplicationFactory()
    change = reverse("admin:credits_programapplication_change", args=[application.pk])
    approve = reverse("admin:credits_programapplication_approve", args=[application.pk])
    assert approve in admin_client_.get(change).content.decode()
    ends_on = (timezone.now() + timedelta(days=200)).date()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(approve, {"ends_on": ends_on.isoformat()})

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.grant.ends_at.date() == ends_on
    assert any("approved" in m.subject for m in mail.outbox)


def test_admin_refuses_an_end_date_past_one_year(admin_client_):
    application = ProgramApplicationFactory()
    too_late = (timezone.now() + timedelta(days=367)).date()

    response = admin_client_.post(
        reverse("admin:credits_programapplication_approve", args=[application.pk]),
        {"ends_on": too_late.isoformat()},
    )

    assert response.status_code == 200
    assert "at most one year" in response.content.decode()
    assert ProgramGrant.objects.count() == 0


def test_staff_reject_and_request_info_in_admin(admin_client_, django_capture_on_commit_callbacks):
    asked, rejected = ProgramApplicationFactory(), ProgramApplicationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        admin_client_.post(
            reverse("admin:credits_programapplication_request_info", args=[asked.pk]),
            {"message": "Which departments will use it?"},
        )
        admin_client_.post(
            reverse("admin:credits_programapplication_reject", args=[rejected.pk]),
            {"reason": "A for-profit company."},
        )

    asked.refresh_from_db()
    rejected.refresh_from_db()
    assert (asked.status, asked.info_request) == (
        ApplicationStatus.NEEDS_INFO,
        "Which departments will use it?",
    )
    assert (rejected.status, rejected.reject_reason) == (
        ApplicationStatus.REJECTED,
        "A for-profit company.",
    )
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [asked.contact_email, rejected.contact_email]
    )


def test_non_staff_cannot_reach_the_admin_decisions(client):
    application = ProgramApplicationFactory()
    client.force_login(MembershipFactory(role="owner").user)

    response = client.post(
        reverse("admin:credits_programapplication_reject", args=[application.pk]),
        {"reason": "no"},
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_admin_lists_render(admin_client_):
    grant = ProgramGrantFactory()
    EnterpriseInquiry.objects.create(
        company="Initech",
        contact_name="Bill",
        email="bill@initech.example",
        expected_volume="under_5k",
        message="TPS reports",
        created_at=timezone.now(),
    )
    application = _submitted_application()

    for url in [
        reverse("admin:credits_enterpriseinquiry_changelist"),
        reverse("admin:credits_programapplication_changelist"),
        reverse("admin:credits_programapplication_change", args=[application.pk]),
        reverse("admin:credits_programgrant_change", args=[grant.pk]),
    ]:
        assert admin_client_.get(url).status_code == 200, url
    change = admin_client_.get(
        reverse("admin:credits_programapplication_change", args=[application.pk])
    ).content.decode()
    assert reverse("credits:program_document", args=[application.documents.get().pk]) in change


def test_the_approval_form_proposes_a_year_from_today(admin_client_):
    application = ProgramApplicationFactory()
    today = timezone.now().date()

    page = admin_client_.get(reverse("admin:credits_programapplication_approve", args=[application.pk]))

    proposed = one_year_after(today).isoformat()
    assert f'value="{proposed}"' in page.content.decode()
    assert f'max="{proposed}"' in page.content.decode()
