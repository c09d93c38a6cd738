from django.urls import path

from credits.views import (
    api,
    billing,
    buy,
    cards,
    pricing,
    programs,
    receipts,
    recharge,
    refunds,
    usage,
    webhook,
)

app_name = "credits"

urlpatterns = [
    path("billing/credit/", billing.credit, name="credit"),
    path("billing/credit/auto-recharge/", recharge.auto_recharge, name="auto_recharge"),
    path(
        "billing/credit/auto-recharge/payments/<int:charge_id>/authenticate/",
        recharge.authenticate,
        name="auto_recharge_authenticate",
    ),
    path(
        "billing/credit/auto-recharge/terminate/",
        recharge.terminate,
        name="auto_recharge_terminate",
    ),
    path("billing/usage/", usage.usage, name="usage"),
    path("billing/usage/ledger.csv", usage.ledger_csv, name="usage_ledger_csv"),
    path("billing/usage/usage.csv", usage.usage_csv, name="usage_csv"),
    path("billing/credit/buy/", buy.buy, name="buy"),
    path("billing/credit/buy/<int:pk>/confirm/", buy.buy_confirm, name="buy_confirm"),
    path("billing/credit/receipts/<int:pk>/", receipts.receipt, name="receipt"),
    path("billing/credit/receipts/<int:pk>/pdf/", receipts.receipt_pdf, name="receipt_pdf"),
    path("billing/refund-policy/", buy.refund_policy, name="refund_policy"),
    path("billing/payment-methods/", cards.payment_methods, name="payment_methods"),
    path("billing/payment-methods/add/", cards.card_add, name="card_add"),
    path("billing/payment-methods/add/finish/", cards.card_add_finish, name="card_add_finish"),
    path("billing/payment-methods/<int:pk>/default/", cards.card_default, name="card_default"),
    path("billing/payment-methods/<int:pk>/remove/", cards.card_delete, name="card_remove"),
    path("billing/payment-methods/contact/", cards.payment_contact, name="payment_contact"),
    path("stripe/webhook/", webhook.stripe_webhook, name="stripe_webhook"),
    path("billing/refunds/", refunds.refunds, name="refunds"),
    path("billing/refunds/request/", refunds.request_refund, name="request_refund"),
    path("billing/rate-limits/", billing.rate_limits, name="rate_limits"),
    path("pricing/", pricing.pricing, name="pricing"),
    path("pricing/enterprise/", pricing.enterprise_contact, name="enterprise_contact"),
    path("programs/apply/", programs.apply, name="program_apply"),
    path("programs/status/<slug:token>/", programs.status, name="program_status"),
    path(
        "programs/documents/<int:document_id>/",
        programs.document_download,
        name="program_document",
    ),
    path("api/v1/usage/", api.usage, name="api_usage"),
    path("api/v1/rate-limits/<int:organization_id>/", api.rate_limits, name="api_rate_limits"),
    path("api/v1/openapi.json", api.openapi, name="api_openapi"),
]
