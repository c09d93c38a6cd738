// 3-D Secure for a payment the server already confirmed: Stripe.js shows the bank's step,
// then the form posts back and the server retrieves the PaymentIntent to see how it went.
(function () {
  "use strict";
  const form = document.getElementById("payment-authenticate-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  const stripe = Stripe(form.dataset.publishableKey);
  const status = document.getElementById("authenticate-status");
  stripe.confirmCardPayment(form.dataset.clientSecret).then((result) => {
    status.textContent = result.error
      ? "Checking the payment with your bank's answer…"
      : "Confirmed. Checking the payment…";
    form.submit();
  });
})();
