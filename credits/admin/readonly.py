"""Read-only admin bases: history (ledger, usage, Stripe state) is never edited in admin."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is never edited in admin: no add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
