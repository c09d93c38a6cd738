from django.urls import path

from credits.views import billing, pages, pricing, programs, recharge, refunds

app_name = "credits"

urlpatterns = [
    path("billing/credit/", billing.credit, name="credit"),
    path("billing/credit/auto-recharge/", recharge.auto_recharge, name="auto_recharge"),
    path(
        "billing/credit/auto-recharge/terminate/",
        recharge.terminate,
        name="auto_recharge_terminate",
    ),
    path("billing/usage/", pages.usage, name="usage"),
    path("billing/payment-methods/", pages.payment_methods, name="payment_methods"),
    path("billing/refunds/", refunds.refunds, name="refunds"),
    path("billing/refunds/request/", refunds.request_refund, name="request_refund"),
    path("billing/rate-limits/", billing.rate_limits, name="rate_limits"),
    path("pricing/", pricing.pricing, name="pricing"),
    path("pricing/enterprise/", pricing.enterprise_contact, name="enterprise_contact"),
    path("programs/apply/", programs.apply, name="program_apply"),
    path("programs/status/<str:token>/", programs.status, name="program_status"),
    path(
        "programs/documents/<int:document_id>/",
        programs.document_download,
        name="program_document",
    ),
]
