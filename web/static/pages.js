// What every htmx page of ours shares (the workspace and the customer portal): CSRF on every
// htmx request, how errors show, local times. Loaded before a page's own script; no
// business rule lives here.
"use strict";

(function () {
  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  // Every state-changing request proves it comes from our page (web/csrf.py).
  document.addEventListener("htmx:configRequest", (event) => {
    event.detail.headers["X-CSRFToken"] = cookie("csrftoken");
  });

  document.addEventListener("DOMContentLoaded", () => {
    // A refusal rendered as HTML (a form with its error, a problem retargeted to #flash) is
    // swapped in like a success; anything else that failed shows its problem detail.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "(400|401|403|404|409|410|413|422|429|503)", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
    localTimes(document);
  });

  document.addEventListener("htmx:afterSwap", (event) => localTimes(event.target));

  document.addEventListener("htmx:responseError", (event) => {
    flash(problemText(event.detail.xhr) || "The request failed; please try again.");
  });
  document.addEventListener("htmx:sendError", () => {
    flash("The help desk cannot be reached; check your connection.");
  });
  document.addEventListener("htmx:beforeSwap", (event) => {
    // A JSON problem (the CSRF check answers one) is not HTML: show it, swap nothing.
    const type = event.detail.xhr.getResponseHeader("Content-Type") || "";
    if (type.startsWith("application/problem+json")) {
      event.detail.shouldSwap = false;
      flash(problemText(event.detail.xhr));
    }
  });

  function problemText(xhr) {
    try {
      const problem = JSON.parse(xhr.responseText);
      return [problem.title, problem.detail].filter(Boolean).join(": ");
    } catch (_) {
      return "";
    }
  }

  function flash(text) {
    const box = document.getElementById("flash");
    if (!box) return;
    const item = document.createElement("div");
    item.className = "problem";
    item.setAttribute("role", "alert");
    item.textContent = text;
    box.replaceChildren(item);
  }

  document.addEventListener("click", (event) => {
    const dismiss = event.target.closest(".dismiss");
    if (dismiss) dismiss.closest(".problem")?.remove();
  });

  // <time datetime="...Z"> in the reader's own zone and language.
  function localTimes(root) {
    root.querySelectorAll?.("time[datetime]:not([data-local])").forEach((el) => {
      const at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      el.textContent = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      el.title = at.toISOString();
      el.dataset.local = "1";
    });
  }
  window.helpdesk = { flash, localTimes };
})();
