"""The project's app configs: the admin site with a second factor for staff, and the project
itself (its management commands, such as seed_demo, use both apps)."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "billing_portal.admin_site.PortalAdminSite"


class BillingPortalConfig(AppConfig):
    name = "billing_portal"
    # Nothing but commands: no models, no migrations.
    default_auto_field = "django.db.models.BigAutoField"
