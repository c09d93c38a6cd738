"""The Stripe webhook: verify the signature, store the event, dispatch it, answer 200."""

from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from credits import stripe_client
from credits.exceptions import WebhookSignatureInvalid
from credits.services.webhooks import event_is_malformed, stripe_event_process, stripe_event_store


# Stripe signs its requests instead of sending a CSRF token.
@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        payload = stripe_client.webhook_construct_event(
            payload=request.body, signature=request.headers.get("Stripe-Signature", ""), now=timezone.now()
        )
    except WebhookSignatureInvalid as error:
        return HttpResponseBadRequest(error.message)
    event = stripe_event_store(payload=payload, now=timezone.now())
    event = stripe_event_process(event_id=event.pk, now=timezone.now())
    if event_is_malformed(event):
        # Stored with its error for staff; 400 tells the sender the body was wrong.
        return HttpResponseBadRequest(event.error)
    # 200 even when handling failed: the error is kept on the event for staff, and a
    # redelivery retries it; a 5xx would only make Stripe resend the same thing.
    return HttpResponse("ok")
