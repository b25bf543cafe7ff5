// The inbox: a notification marked read loses its button, so the keyboard goes to its
// ticket link (j/k and Enter carry on from that row) rather than to the top of the page.
"use strict";

(function () {
  document.addEventListener("htmx:afterSettle", (event) => {
    const state = event.detail.target;
    if (!state.matches?.(".notification .state")) return;
    const row = state.closest("[data-row]");
    document.querySelectorAll("[data-row].selected").forEach((r) => r.classList.remove("selected"));
    row.classList.add("selected");
    row.querySelector("a[data-open]")?.focus();
  });
})();
