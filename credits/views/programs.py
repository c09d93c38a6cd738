"""The education and public-interest program: the public form, the status page, staff downloads."""

from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.links import token_link_template
from accounts.models import Role
from accounts.selectors import current_membership
from accounts.throttling import throttle_posts
from credits.exceptions import ProgramError
from credits.forms.programs import ProgramApplicationForm, ProgramDocumentForm
from credits.models import ApplicationStatus, ProgramApplication, ProgramDocument
from credits.services.program_applications import program_add_document, program_apply


def _applicant(request) -> dict:
    """Who applies, when signed in as an owner or billing member: their organization is
    the one staff grant to by default."""
    membership = current_membership(request) if request.user.is_authenticated else None
    if membership is None or membership.role not in (Role.OWNER, Role.BILLING):
        return {}
    return {"submitted_by": request.user, "applicant_organization": membership.organization}


@require_http_methods(["GET", "POST"])
@throttle_posts("program_apply", per_ip=5, window=3600)
def apply(request):
    form = ProgramApplicationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = program_apply(
                **form.cleaned_data,
                **_applicant(request),
                status_url=token_link_template(request, "credits:program_status"),
                now=timezone.now(),
            )
        except ProgramError as error:
            form.add_error("document" if error.code.startswith("document") else None, error.message)
        else:
            messages.success(request, "Application received. We emailed you a link to this page.")
            return redirect("credits:program_status", token=application.status_token)
    return render(request, "credits/program_apply.html", {"form": form})


@require_http_methods(["GET", "POST"])
@throttle_posts("program_status", per_ip=20, window=3600)
def status(request, token: str):
    application = get_object_or_404(ProgramApplication, status_token=token)
    form = ProgramDocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            program_add_document(
                application=application, document=form.cleaned_data["document"], now=timezone.now()
            )
        except ProgramError as error:
            form.add_error("document" if error.code.startswith("document") else None, error.message)
        else:
            messages.success(request, "Thank you, we received your document.")
            return redirect("credits:program_status", token=token)
    context = {"application": application, "form": form, "statuses": ApplicationStatus}
    return render(request, "credits/program_status.html", context)


@require_GET
def document_download(request, document_id: int):
    # As the admin asks: staff with a verified second factor (else the login / two-factor
    # step, then back here), and only those allowed to read applications.
    if not admin.site.has_permission(request):
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    if not request.user.has_perm("credits.view_programapplication"):
        raise PermissionDenied("You may not read program applications.")
    document = get_object_or_404(ProgramDocument, pk=document_id)
    # Always a download, never displayed inline: the bytes came from a stranger.
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"application-{document.application_id}-{document.pk}.{document.extension}",
        content_type=document.content_type,
    )
