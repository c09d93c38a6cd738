"""Account pages: signup, members and invitations, organization switching."""

from base64 import b32encode
from typing import cast
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.exceptions import AccountError
from accounts.forms import (
    InvitationForm,
    InvitationSignupForm,
    OrganizationForm,
    RoleForm,
    SignupForm,
    SwitchOrganizationForm,
    TwoFactorForm,
)
from accounts.links import token_link_template
from accounts.models import Invitation, Membership
from accounts.permissions import member_required, owner_required
from accounts.selectors import SESSION_KEY, user_memberships
from accounts.throttling import throttle_posts
from accounts.two_factor import totp_device_for, totp_verify


class PortalLoginView(auth_views.LoginView):
    """One login for everyone: customers go to their billing pages, staff (without a `next`)
    to the two-factor step and from there to the admin, never to "Create an organization"."""

    def get_default_redirect_url(self):
        user = self.request.user
        if user.is_staff:
            # A password login never carries a verified second factor.
            if settings.ADMIN_REQUIRE_OTP:
                return f"{reverse('accounts:two_factor')}?{urlencode({'next': reverse('admin:index')})}"
            return reverse("admin:index")
        return super().get_default_redirect_url()


def _log_in(request, user) -> None:
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")


@require_http_methods(["GET", "POST"])
@throttle_posts("signup", per_ip=10, window=3600)
def signup(request):
    if request.user.is_authenticated:
        return redirect("credits:credit")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                organization_name=form.cleaned_data["organization_name"],
            )
        except AccountError as error:
            form.add_error("email", error.message)
        else:
            _log_in(request, user)
            messages.success(request, "Welcome! Your organization is ready.")
            return redirect("credits:credit")
    return render(request, "accounts/signup.html", {"form": form})


def _work_in(request, organization_id: int) -> None:
    """This session works in the organization, and the next login opens it again."""
    request.session[SESSION_KEY] = organization_id
    services.membership_mark_used(user=request.user, organization_id=organization_id, now=timezone.now())


@require_http_methods(["GET", "POST"])
@login_required
def organization_create(request):
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"], owner=request.user
        )
        _work_in(request, organization.pk)
        messages.success(request, f"{organization.name} created.")
        return redirect("credits:credit")
    return render(request, "accounts/organization_create.html", {"form": form})


@require_POST
@login_required
def organization_switch(request):
    form = SwitchOrganizationForm(request.POST)
    if not form.is_valid():
        raise Http404
    wanted = form.cleaned_data["organization"]
    # Only organizations the user belongs to; anything else is not found, not forbidden.
    membership = next((m for m in user_memberships(request) if m.organization_id == wanted), None)
    if membership is None:
        raise Http404
    _work_in(request, wanted)
    messages.info(request, f"Now working in {membership.organization.name}.")
    return redirect("credits:credit")


@require_http_methods(["GET"])
@member_required
def members(request):
    organization = request.organization
    context = {
        "organization_members": Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("user__email"),
        "invitations": organization.invitations.filter(accepted_at__isnull=True),
        "invite_form": InvitationForm(),
        "role_choices": cast(forms.ChoiceField, RoleForm.base_fields["role"]).choices,
    }
    return render(request, "accounts/members.html", context)


@require_POST
@owner_required
def invite(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                organization=request.organization,
                invited_by=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                accept_url=token_link_template(request, "accounts:invitation"),
            )
        except AccountError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
    else:
        messages.error(request, "Enter a valid email address and role.")
    return redirect("accounts:members")


@require_POST
@owner_required
def change_role(request, membership_id: int):
    membership = get_object_or_404(
        Membership, pk=membership_id, organization=request.organization
    )
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("accounts:members")
    try:
        services.membership_change_role(membership=membership, role=form.cleaned_data["role"])
    except AccountError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
    return redirect("accounts:members")


@require_POST
@owner_required
def remove_member(request, membership_id: int):
    membership = get_object_or_404(
        Membership, pk=membership_id, organization=request.organization
    )
    try:
        services.membership_remove(membership=membership)
    except AccountError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{membership.user.email} was removed.")
    return redirect("accounts:members")


@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    invitation = get_object_or_404(Invitation.objects.select_related("organization"), token=token)
    if not invitation.is_pending:
        return render(request, "accounts/invitation.html", {"invitation": invitation}, status=410)
    form = None
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(token=token, user=request.user)
            except AccountError as error:
                messages.error(request, error.message)
            else:
                _work_in(request, membership.organization_id)
                messages.success(request, f"You joined {membership.organization.name}.")
                return redirect("credits:credit")
    else:
        form = InvitationSignupForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                user = services.invitation_signup(
                    token=token, password=form.cleaned_data["password1"]
                )
            except AccountError as error:
                form.add_error(None, error.message)
            else:
                _log_in(request, user)
                _work_in(request, invitation.organization_id)
                messages.success(request, f"Welcome to {invitation.organization.name}.")
                return redirect("credits:credit")
    return render(request, "accounts/invitation.html", {"invitation": invitation, "form": form})


@require_http_methods(["GET", "POST"])
@throttle_posts("two_factor", per_ip=20, window=600)
@login_required
def two_factor(request):
    if not request.user.is_staff:
        raise Http404
    next_url = request.POST.get("next") or request.GET.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/admin/"
    device = totp_device_for(user=request.user)
    form = TwoFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            totp_verify(request=request, token=form.cleaned_data["token"])
        except AccountError as error:
            form.add_error("token", error.message)
        else:
            return redirect(next_url)
    context = {"form": form, "device": device, "next": next_url, "secret": b32encode(device.bin_key).decode()}
    return render(request, "accounts/two_factor.html", context)


@require_http_methods(["GET", "POST"])
def logout(request):
    # Logging out changes state, so it is a POST (CSRF-protected); a GET, such as a typed
    # URL, asks first.
    if request.method == "POST":
        return auth_views.LogoutView.as_view()(request)
    return render(request, "registration/logout_confirm.html")


@require_GET
@login_required
def bench_bare(request):
    """The yardstick of bench/ (mounted only when settings.BENCH_VIEWS): a logged-in page that
    loads the session and the user and nothing else, so a page's throughput can be read as a
    fraction of what Django itself costs on the same server."""
    return HttpResponse(f"user {request.user.pk}\n", content_type="text/plain")
