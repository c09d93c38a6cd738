"""The education and public-interest program: the public form, the status page, staff downloads."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.throttling import throttle_posts
from credits.exceptions import ProgramError
from credits.forms.programs import ProgramApplicationForm, ProgramDocumentForm
from credits.models import ApplicationStatus, ProgramApplication, ProgramDocument
from credits.services.program_applications import program_add_document, program_apply


def status_url(request) -> str:
    """The absolute status-page link with a {token} placeholder, for the emails."""
    return request.build_absolute_uri(
        reverse("credits:program_status", args=["TOKEN"])
    ).replace("TOKEN", "{token}")


@require_http_methods(["GET", "POST"])
@throttle_posts("program_apply", per_ip=5, window=3600)
def apply(request):
    form = ProgramApplicationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = program_apply(
                **form.cleaned_data, status_url=status_url(request), now=timezone.now()
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
@staff_member_required
def document_download(request, document_id: int):
    document = get_object_or_404(ProgramDocument, pk=document_id)
    # Always a download, never displayed inline: the bytes came from a stranger.
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"application-{document.application_id}-{document.pk}.{document.extension}",
        content_type=document.content_type,
    )
