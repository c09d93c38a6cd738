"""URL wiring: each app owns its paths; see SPEC.md for the stable ones."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import bench_bare

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="credits:credit", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("credits.urls")),
]

if settings.BENCH_VIEWS:
    # bench/ measures pages against this bare logged-in view; off unless BENCH_VIEWS=1.
    urlpatterns.append(path("bench/bare/", bench_bare, name="bench_bare"))
