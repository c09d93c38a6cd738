from django.urls import path

from credits.views import billing, pages, recharge, refunds

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
    path("pricing/", pages.pricing, name="pricing"),
    path("programs/apply/", pages.program_apply, name="program_apply"),
]
