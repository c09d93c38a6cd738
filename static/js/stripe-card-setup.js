// Add a card: Stripe.js confirms the SetupIntent with the card element (3-D Secure if the
// bank asks), then the form posts only the SetupIntent id; the server asks Stripe about it.
(function () {
  "use strict";
  const form = document.getElementById("card-setup-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  const button = form.querySelector("button[type=submit]");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    errors.textContent = "";
    const result = await stripe.confirmCardSetup(form.dataset.clientSecret, {
      payment_method: { card: card },
    });
    if (result.error) {
      errors.textContent = result.error.message || "The card could not be saved.";
      button.disabled = false;
      return;
    }
    document.getElementById("setup-intent-id").value = result.setupIntent.id;
    form.submit();
  });
})();
