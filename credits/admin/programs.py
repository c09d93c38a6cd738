"""Staff admin for credits: Enterprise inquiries, program applications and grants."""

from datetime import UTC, datetime, time

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.admin import AuditedAdmin
from accounts.links import token_link_template
from credits.exceptions import ProgramError
from credits.forms.staff import ProgramApproveForm, ProgramInfoRequestForm, ProgramRejectForm
from credits.models import (
    EnterpriseInquiry,
    ProgramApplication,
    ProgramDocument,
    ProgramGrant,
)
from credits.services import program_applications, program_grants


@admin.register(EnterpriseInquiry)
class EnterpriseInquiryAdmin(AuditedAdmin):
    list_display = ["company", "contact_name", "email", "expected_volume", "created_at", "handled"]
    list_filter = ["handled", "expected_volume"]
    search_fields = ["company", "contact_name", "email"]
    # What the customer wrote is kept as sent; staff only mark it handled.
    readonly_fields = ["company", "contact_name", "email", "expected_volume", "message", "created_at"]
    fields = [*readonly_fields, "handled"]

    def has_add_permission(self, request):
        return False


class ProgramDocumentInline(admin.TabularInline):
    model = ProgramDocument
    extra = 0
    can_delete = False
    fields = ("original_name", "content_type", "size_bytes", "uploaded_at", "download")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="File")
    def download(self, document: ProgramDocument) -> str:
        return format_html(
            '<a href="{}">Download</a>', reverse("credits:program_document", args=[document.pk])
        )


@admin.register(ProgramApplication)
class ProgramApplicationAdmin(AuditedAdmin):
    list_display = ["organization_name", "kind", "country", "status", "submitted_at", "reviewed_by"]
    list_filter = ["status", "kind"]
    search_fields = ["organization_name", "contact_email", "contact_name", "country"]
    inlines = [ProgramDocumentInline]
    # Decisions are made with the buttons (which email the applicant), never by editing fields.
    readonly_fields = [
        "review_actions",
        "organization_name",
        "kind",
        "country",
        "website",
        "contact_name",
        "contact_email",
        "intended_use",
        "status",
        "info_request",
        "reject_reason",
        "submitted_at",
        "submitted_by",
        "applicant_organization",
        "reviewed_by",
        "reviewed_at",
        "organization",
        "grant",
    ]
    fields = tuple(readonly_fields)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Review")
    def review_actions(self, application: ProgramApplication) -> str:
        if application.status not in program_applications.OPEN_STATUSES:
            return "Decided."
        return format_html_join(
            " ",
            '<a class="button" href="{}">{}</a>',
            (
                (reverse(f"admin:credits_programapplication_{name}", args=[application.pk]), label)
                for name, label in (
                    ("approve", "Approve"),
                    ("reject", "Reject"),
                    ("request_info", "Ask for more information"),
                )
            ),
        )

    def get_urls(self):
        return [
            path(
                "<int:application_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="credits_programapplication_approve",
            ),
            path(
                "<int:application_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="credits_programapplication_reject",
            ),
            path(
                "<int:application_id>/request-info/",
                self.admin_site.admin_view(self.request_info_view),
                name="credits_programapplication_request_info",
            ),
            *super().get_urls(),
        ]

    def _decide(self, request, application_id: int, *, title: str, form, decide):
        """Shared shape of the three decision pages: a form, one service call, back to the change page."""
        application = get_object_or_404(ProgramApplication, pk=application_id)
        if not self.has_change_permission(request, application):
            raise PermissionDenied
        if request.method == "POST" and form.is_valid():
            try:
                decide(application, form.cleaned_data)
            except ProgramError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"{title}: done, the applicant was emailed.")
                return redirect("admin:credits_programapplication_change", application.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {application.organization_name}",
            "application": application,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/credits/program_review.html", context)

    def approve_view(self, request, application_id: int):
        now = timezone.now()

        def decide(application, data):
            program_grants.program_approve(
                application=application,
                reviewer=request.user,
                # The grant runs until the start (00:00 UTC) of the chosen day.
                ends_at=datetime.combine(data["ends_on"], time.min, tzinfo=UTC),
                organization=data["organization"],
                accept_url=token_link_template(request, "accounts:invitation"),
                status_url=token_link_template(request, "credits:program_status"),
                now=now,
            )

        application = get_object_or_404(ProgramApplication, pk=application_id)
        form = ProgramApproveForm(
            request.POST or None,
            today=now.date(),
            applicant_organization=application.applicant_organization,
        )
        return self._decide(request, application_id, title="Approve", form=form, decide=decide)

    def reject_view(self, request, application_id: int):
        def decide(application, data):
            program_applications.program_reject(
                application=application,
                reviewer=request.user,
                reason=data["reason"],
                status_url=token_link_template(request, "credits:program_status"),
                now=timezone.now(),
            )

        form = ProgramRejectForm(request.POST or None)
        return self._decide(request, application_id, title="Reject", form=form, decide=decide)

    def request_info_view(self, request, application_id: int):
        def decide(application, data):
            program_applications.program_request_info(
                application=application,
                reviewer=request.user,
                message=data["message"],
                status_url=token_link_template(request, "credits:program_status"),
                now=timezone.now(),
            )

        form = ProgramInfoRequestForm(request.POST or None)
        return self._decide(
            request, application_id, title="Ask for more information", form=form, decide=decide
        )


@admin.register(ProgramGrant)
class ProgramGrantAdmin(AuditedAdmin):
    list_display = ["organization", "starts_at", "ends_at", "revoked_at", "created_by"]
    list_filter = ["revoked_at"]
    search_fields = ["organization__name"]
    # Staff may end a grant early (revoked_at); everything else comes from the approval.
    readonly_fields = [
        "organization",
        "models",
        "starts_at",
        "ends_at",
        "created_by",
        "created_at",
        "reminded_30_days_at",
        "reminded_7_days_at",
    ]
    fields = [*readonly_fields, "revoked_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Free models")
    def models(self, grant: ProgramGrant) -> str:
        return ", ".join(model.name for model in grant.api_models.all())
