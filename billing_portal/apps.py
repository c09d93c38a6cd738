"""The admin site with a second factor for staff."""

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "billing_portal.admin_site.PortalAdminSite"
