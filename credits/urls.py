from django.urls import path

from credits.views import api, billing, pages, usage

app_name = "credits"

urlpatterns = [
    path("billing/credit/", billing.credit, name="credit"),
    path("billing/usage/", usage.usage, name="usage"),
    path("billing/usage/ledger.csv", usage.ledger_csv, name="usage_ledger_csv"),
    path("billing/payment-methods/", pages.payment_methods, name="payment_methods"),
    path("billing/refunds/", pages.refunds, name="refunds"),
    path("billing/rate-limits/", pages.rate_limits, name="rate_limits"),
    path("pricing/", pages.pricing, name="pricing"),
    path("programs/apply/", pages.program_apply, name="program_apply"),
    path("api/v1/usage/", api.usage, name="api_usage"),
    path("api/v1/rate-limits/<int:organization_id>/", api.rate_limits, name="api_rate_limits"),
    path("api/v1/openapi.json", api.openapi, name="api_openapi"),
]
