// A "more" button ([data-more]) that appends the next page of [data-row]s keeps the keyboard
// where the agent was: the first new row is selected and its link focused, so j/k and Enter
// carry on instead of starting again at the top of the page.
"use strict";

(function () {
  let pending = null; // { button, firstNew }: the more request under way

  function fromPending(event) {
    return pending !== null && event.detail.requestConfig?.elt === pending.button;
  }

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt.matches("[data-more]")) {
      pending = { button: event.detail.elt,
                  firstNew: document.querySelectorAll("[data-row]").length };
    }
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (fromPending(event) && !event.detail.successful) pending = null; // nothing was added
  });

  // Other requests (the unread badge's poll) settle meanwhile: only this one's counts.
  document.addEventListener("htmx:afterSettle", (event) => {
    if (!fromPending(event)) return;
    const row = document.querySelectorAll("[data-row]")[pending.firstNew];
    pending = null;
    if (!row) return;
    document.querySelectorAll("[data-row].selected").forEach((r) => r.classList.remove("selected"));
    row.classList.add("selected");
    row.querySelector("a[data-open]")?.focus();
  });
})();
