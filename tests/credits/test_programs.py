"""The program's services: applying, documents by content, decisions with emails, grants, reminders."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Invitation, Membership, Organization, Role
from credits.exceptions import ProgramError
from credits.models import ApplicationStatus, ProgramApplication, ProgramDocument, ProgramGrant
from credits.selectors.programs import one_year_after
from credits.services import program_applications, program_grants, program_reminders
from tests.factories import (
    MembershipFactory,
    ProgramApplicationFactory,
    ProgramGrantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
STATUS_URL = "https://portal.example/programs/status/{token}/"
ACCEPT_URL = "https://portal.example/accounts/invitations/{token}/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(private_media):
    return private_media


def _upload(content: bytes = PDF, name: str = "proof.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _apply(**overrides) -> ProgramApplication:
    fields = {
        "organization_name": "Riverside Clinic",
        "kind": "hospital",
        "country": "Portugal",
        "website": "https://riverside.example.org",
        "contact_name": "Dr. Inês Sousa",
        "contact_email": "Ines@Riverside.example.org",
        "intended_use": "Summarising discharge letters.",
        "document": _upload(),
        "status_url": STATUS_URL,
        "now": NOW,
    }
    return program_applications.program_apply(**{**fields, **overrides})


def test_apply_stores_the_application_and_its_proof_and_emails_both_sides(
    settings, django_capture_on_commit_callbacks
):
    settings.STAFF_NOTIFICATION_EMAILS = ["programs@example.com"]

    with django_capture_on_commit_callbacks(execute=True):
        application = _apply()

    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.contact_email == "ines@riverside.example.org"
    assert len(application.status_token) >= 40
    document = ProgramDocument.objects.get()
    assert (document.original_name, document.content_type, document.size_bytes) == (
        "proof.pdf",
        "application/pdf",
        len(PDF),
    )
    # Stored under a random name inside MEDIA_ROOT, never the applicant's.
    assert document.file.name.startswith("program-documents/")
    assert document.file.name.endswith(".pdf")
    assert "proof" not in document.file.name
    assert (settings.MEDIA_ROOT / document.file.name).read_bytes() == PDF
    assert [m.to for m in mail.outbox] == [
        ["ines@riverside.example.org"],
        ["programs@example.com"],
    ]
    assert f"https://portal.example/programs/status/{application.status_token}/" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "scan.png", "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "scan.jpeg", "image/jpeg"),
        # The name does not matter, only the bytes.
        (PDF, "certificate.txt", "application/pdf"),
    ],
)
def test_pngs_jpegs_and_pdfs_are_recognised_by_content(content, name, content_type):
    _apply(document=_upload(content, name))

    assert ProgramDocument.objects.get().content_type == content_type


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00 this is an executable",
        b"<html><script>alert(1)</script></html>",
        b"GIF89a...",
        b"",
        b" %PDF-1.4 leading space",
    ],
)
def test_other_files_disguised_as_pdf_are_refused(content):
    with pytest.raises(ProgramError) as caught:
        _apply(document=_upload(content, "proof.pdf"))

    assert caught.value.code == "document_type"
    assert ProgramApplication.objects.count() == 0
    assert ProgramDocument.objects.count() == 0


def test_a_file_one_byte_over_ten_megabytes_is_refused():
    too_big = PDF + b"0" * (program_applications.MAX_DOCUMENT_BYTES + 1 - len(PDF))

    with pytest.raises(ProgramError) as caught:
        _apply(document=_upload(too_big))

    assert caught.value.code == "document_too_large"
    assert ProgramApplication.objects.count() == 0


def test_a_file_of_exactly_ten_megabytes_is_accepted():
    _apply(document=_upload(PDF + b"0" * (program_applications.MAX_DOCUMENT_BYTES - len(PDF))))

    assert ProgramDocument.objects.get().size_bytes == program_applications.MAX_DOCUMENT_BYTES


def _approve(application, *, ends_at, reviewer=None, now=NOW, organization=None):
    # Staff's choice, by default the organization the applicant applied from (or a new one).
    return program_grants.program_approve(
        application=application,
        reviewer=reviewer or UserFactory(is_staff=True),
        ends_at=ends_at,
        organization=organization or application.applicant_organization,
        accept_url=ACCEPT_URL,
        status_url=STATUS_URL,
        now=now,
    )


def test_approval_for_an_applicant_who_applied_from_their_organization_uses_it(
    django_capture_on_commit_callbacks,
):
    owned = MembershipFactory(role=Role.OWNER, user__email="ines@riverside.example.org")
    MembershipFactory(role=Role.OWNER, user=owned.user)  # a second one, joined later
    application = ProgramApplicationFactory(
        contact_email="ines@riverside.example.org",
        submitted_by=owned.user,
        applicant_organization=owned.organization,
    )
    staff = UserFactory(is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        grant = _approve(application, ends_at=NOW + timedelta(days=180), reviewer=staff)

    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.organization == owned.organization
    assert application.grant == grant
    assert (application.reviewed_by, application.reviewed_at) == (staff, NOW)
    assert grant.organization == owned.organization
    assert (grant.starts_at, grant.ends_at, grant.created_by) == (
        NOW,
        NOW + timedelta(days=180),
        staff,
    )
    assert sorted(grant.api_models.values_list("slug", flat=True)) == [
        "document-parse",
        "solar-pro",
        "solar-pro-2",
    ]
    assert Invitation.objects.count() == 0
    assert len(mail.outbox) == 1
    assert "approved" in mail.outbox[0].subject
    assert "existing organization" in mail.outbox[0].body


def test_approval_for_a_newcomer_creates_an_organization_and_invites_them_as_owner(
    django_capture_on_commit_callbacks,
):
    application = ProgramApplicationFactory(
        organization_name="Lakeside College", contact_email="dean@lakeside.example.org"
    )
    # Belonging to an organization elsewhere does not pick it: staff choose (here, none).
    MembershipFactory(role=Role.OWNER, user__email="dean@lakeside.example.org")

    with django_capture_on_commit_callbacks(execute=True):
        grant = _approve(application, ends_at=NOW + timedelta(days=90))

    organization = Organization.objects.get(name="Lakeside College")
    assert grant.organization == organization
    assert organization.created_at == NOW
    invitation = Invitation.objects.get()
    assert (invitation.organization, invitation.email, invitation.role) == (
        organization,
        "dean@lakeside.example.org",
        Role.OWNER,
    )
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == ["You are invited to Lakeside College", "Your program application is approved"]
    invite = next(m for m in mail.outbox if m.subject.startswith("You are invited"))
    assert f"https://portal.example/accounts/invitations/{invitation.token}/" in invite.body


def test_approval_up_to_exactly_one_year_is_allowed():
    grant = _approve(ProgramApplicationFactory(), ends_at=datetime(2027, 3, 10, 9, 30, tzinfo=UTC))

    assert grant.ends_at == datetime(2027, 3, 10, 9, 30, tzinfo=UTC)


def test_approval_for_one_year_and_a_day_is_refused():
    application = ProgramApplicationFactory()

    with pytest.raises(ProgramError) as caught:
        _approve(application, ends_at=NOW + timedelta(days=366))

    assert caught.value.code == "grant_too_long"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert ProgramGrant.objects.count() == 0
    assert Organization.objects.count() == 0


def test_one_year_after_a_leap_day_is_the_28th_of_february():
    leap = datetime(2028, 2, 29, 12, tzinfo=UTC)

    assert one_year_after(leap) == datetime(2029, 2, 28, 12, tzinfo=UTC)


def test_approval_with_an_end_in_the_past_is_refused():
    with pytest.raises(ProgramError) as caught:
        _approve(ProgramApplicationFactory(), ends_at=NOW)

    assert caught.value.code == "grant_end_past"


def test_a_decided_application_cannot_be_decided_again():
    application = ProgramApplicationFactory()
    _approve(application, ends_at=NOW + timedelta(days=30))

    with pytest.raises(ProgramError) as caught:
        _approve(application, ends_at=NOW + timedelta(days=30))
    with pytest.raises(ProgramError):
        program_applications.program_reject(
            application=application,
            reviewer=UserFactory(is_staff=True),
            reason="Too late",
            status_url=STATUS_URL,
            now=NOW,
        )

    assert caught.value.code == "application_decided"
    assert ProgramGrant.objects.count() == 1


def test_reject_stores_the_reason_and_emails_it(django_capture_on_commit_callbacks):
    application = ProgramApplicationFactory(contact_email="a@school.example")

    with django_capture_on_commit_callbacks(execute=True):
        program_applications.program_reject(
            application=application,
            reviewer=UserFactory(is_staff=True),
            reason="We could not confirm the school's registration.",
            status_url=STATUS_URL,
            now=NOW,
        )

    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert application.reject_reason == "We could not confirm the school's registration."
    assert application.grant is None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["a@school.example"]
    # Plain text, not HTML-escaped.
    assert "We could not confirm the school's registration." in mail.outbox[0].body


def test_reject_needs_a_reason():
    with pytest.raises(ProgramError) as caught:
        program_applications.program_reject(
            application=ProgramApplicationFactory(),
            reviewer=UserFactory(is_staff=True),
            reason="  ",
            status_url=STATUS_URL,
            now=NOW,
        )

    assert caught.value.code == "reason_required"


def test_request_info_then_the_applicant_adds_a_document(
    settings, django_capture_on_commit_callbacks
):
    settings.STAFF_NOTIFICATION_EMAILS = ["programs@example.com"]
    application = ProgramApplicationFactory(contact_email="a@school.example")

    with django_capture_on_commit_callbacks(execute=True):
        program_applications.program_request_info(
            application=application,
            reviewer=UserFactory(is_staff=True),
            message="Please send the ministry's accreditation letter.",
            status_url=STATUS_URL,
            now=NOW,
        )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.NEEDS_INFO
    assert mail.outbox[0].to == ["a@school.example"]
    assert "accreditation letter" in mail.outbox[0].body
    assert application.status_token in mail.outbox[0].body

    with django_capture_on_commit_callbacks(execute=True):
        program_applications.program_add_document(
            application=application, document=_upload(name="letter.pdf"), now=NOW
        )

    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert list(application.documents.values_list("original_name", flat=True)) == ["letter.pdf"]
    assert mail.outbox[1].to == ["programs@example.com"]


def test_documents_cannot_be_added_unless_information_was_requested():
    with pytest.raises(ProgramError) as caught:
        program_applications.program_add_document(
            application=ProgramApplicationFactory(), document=_upload(), now=NOW
        )

    assert caught.value.code == "documents_closed"


def test_reminders_go_out_30_and_7_days_before_the_end_once_each(
    django_capture_on_commit_callbacks,
):
    owner = MembershipFactory(role=Role.OWNER, user__email="owner@clinic.example")
    MembershipFactory(organization=owner.organization, role=Role.MEMBER)
    grant = ProgramGrantFactory(
        organization=owner.organization, starts_at=NOW, ends_at=NOW + timedelta(days=90)
    )

    def run(at):
        with django_capture_on_commit_callbacks(execute=True):
            return program_reminders.remind_grant_endings(now=at)

    assert run(NOW + timedelta(days=59)) == 0  # 31 days left
    assert run(NOW + timedelta(days=60)) == 1  # 30 days left
    assert run(NOW + timedelta(days=61)) == 0
    assert run(NOW + timedelta(days=82)) == 0  # 8 days left
    assert run(NOW + timedelta(days=83)) == 1  # 7 days left
    assert run(NOW + timedelta(days=83)) == 0
    assert run(NOW + timedelta(days=95)) == 0  # ended

    assert [m.to for m in mail.outbox] == [["owner@clinic.example"]] * 2
    assert "in 30 days" in mail.outbox[0].body
    assert "in 7 days" in mail.outbox[1].body
    grant.refresh_from_db()
    assert grant.reminded_30_days_at == NOW + timedelta(days=60)
    assert grant.reminded_7_days_at == NOW + timedelta(days=83)


def test_a_late_first_run_sends_only_the_7_day_reminder(django_capture_on_commit_callbacks):
    owner = MembershipFactory(role=Role.OWNER)
    ProgramGrantFactory(organization=owner.organization, starts_at=NOW, ends_at=NOW + timedelta(days=5))

    with django_capture_on_commit_callbacks(execute=True):
        first = program_reminders.remind_grant_endings(now=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        second = program_reminders.remind_grant_endings(now=NOW + timedelta(hours=1))

    assert (first, second) == (1, 0)
    assert len(mail.outbox) == 1


def test_revoked_grants_get_no_reminder():
    owner = MembershipFactory(role=Role.OWNER)
    ProgramGrantFactory(
        organization=owner.organization,
        starts_at=NOW,
        ends_at=NOW + timedelta(days=20),
        revoked_at=NOW,
    )

    assert program_reminders.remind_grant_endings(now=NOW + timedelta(days=1)) == 0


def test_a_grant_whose_organization_has_no_owner_yet_reminds_the_applicant(
    django_capture_on_commit_callbacks,
):
    application = ProgramApplicationFactory(contact_email="new@college.example")
    _approve(application, ends_at=NOW + timedelta(days=20))

    with django_capture_on_commit_callbacks(execute=True):
        sent = program_reminders.remind_grant_endings(now=NOW + timedelta(days=1))

    assert sent == 1
    assert mail.outbox[-1].to == ["new@college.example"]
    assert Membership.objects.count() == 0
