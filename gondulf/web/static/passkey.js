// Passkeys on Gondulf's sign-in pages. Each [data-passkey] section stays hidden unless the
// browser supports WebAuthn; its button asks the server for the ceremony's options (JSON),
// lets the browser create or use the passkey, and posts the answer with the section's
// form, so the server answers with a redirect like every other form's.
"use strict";

(() => {
  const credentials = window.PublicKeyCredential;
  if (!credentials || !credentials.parseRequestOptionsFromJSON || !navigator.credentials) {
    return; // the emailed code works as ever
  }

  async function ceremony(section, form, status) {
    const answer = await fetch(section.dataset.options, {
      method: "POST",
      body: new URLSearchParams({ csrf: form.elements.csrf.value }),
      credentials: "same-origin",
    });
    const body = await answer.json();
    if (!answer.ok) {
      throw new Error(body.error || "The server refused.");
    }
    const credential =
      section.dataset.passkey === "register"
        ? await navigator.credentials.create({
            publicKey: credentials.parseCreationOptionsFromJSON(body.options),
          })
        : await navigator.credentials.get({
            publicKey: credentials.parseRequestOptionsFromJSON(body.options),
          });
    form.elements.challenge.value = body.challenge;
    form.elements.credential.value = JSON.stringify(credential.toJSON());
    status.textContent = "Checking…";
    form.submit();
  }

  for (const section of document.querySelectorAll("[data-passkey]")) {
    const form = section.querySelector("form");
    const button = section.querySelector("[data-start]");
    const status = section.querySelector("[data-status]");
    section.hidden = false;
    button.addEventListener("click", () => {
      button.disabled = true;
      status.textContent = "";
      ceremony(section, form, status).catch((error) => {
        button.disabled = false;
        status.textContent =
          error && error.name === "NotAllowedError"
            ? "No passkey was used. Try again, or use the email code."
            : `That did not work: ${error.message || error}`;
      });
    });
  }
})();
