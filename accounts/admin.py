"""Staff views of users, organizations and memberships."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import AuditEntry, Invitation, Membership, Organization, User
from accounts.services import audit_record, audit_snapshot


class AuditedAdmin(admin.ModelAdmin):
    """Every add, change and delete a staff member makes here lands in the audit log,
    with the row's values before and after, in the same transaction as the change."""

    def save_model(self, request, obj, form, change):
        before = audit_snapshot(type(obj).objects.filter(pk=obj.pk).first()) if change else None
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="change" if change else "add",
            obj=obj,
            before=before,
            after=audit_snapshot(obj),
            organization=_organization_of(obj),
        )

    def delete_model(self, request, obj):
        before = audit_snapshot(obj)
        audit_record(
            actor=request.user, action="delete", obj=obj, before=before, organization=_organization_of(obj)
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The "delete selected" action: one entry per row, like a delete from its page.
        for obj in queryset:
            audit_record(
                actor=request.user,
                action="delete",
                obj=obj,
                before=audit_snapshot(obj),
                organization=_organization_of(obj),
            )
        super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        befores = {
            f.instance.pk: audit_snapshot(type(f.instance).objects.filter(pk=f.instance.pk).first())
            for f in formset.forms
            if f.instance.pk and f.has_changed()
        }
        super().save_formset(request, form, formset, change)
        for instance in formset.new_objects + [obj for obj, _ in formset.changed_objects]:
            audit_record(
                actor=request.user,
                action="change" if instance.pk in befores else "add",
                obj=instance,
                before=befores.get(instance.pk),
                after=audit_snapshot(instance),
                organization=_organization_of(instance),
            )
        for instance in formset.deleted_objects:
            audit_record(
                actor=request.user, action="delete", obj=instance, organization=_organization_of(instance)
            )


def _organization_of(obj) -> Organization | None:
    if isinstance(obj, Organization):
        return obj
    return getattr(obj, "organization", None) if hasattr(obj, "organization_id") else None


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_repr", "organization"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["object_repr", "actor__email", "organization__name", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "organization"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(AuditedAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name", "memberships__user__email"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation)
class InvitationAdmin(AuditedAdmin):
    list_display = ["email", "organization", "role", "created_at", "accepted_at"]
    search_fields = ["email", "organization__name"]
    readonly_fields = ["token", "created_at", "accepted_at", "accepted_by"]
