// The workspace's keyboard (pages.js, loaded first, does CSRF, errors and local times).
// Pages declare behaviour in HTML (htmx attributes, data-shortcut, data-row); no business
// rule lives here.
"use strict";

(function () {
  // ---- keyboard ----------------------------------------------------------------------
  // j/k move the selection among [data-row]s, Enter opens it; any [data-shortcut="x"] is
  // clicked (or focused, if it is a field) when x is pressed; "/" searches, "?" helps.
  function typing(target) {
    // A ticked checkbox is not typing: j/k go on from a list's selection boxes.
    return target.closest("input:not([type='checkbox']):not([type='radio']), textarea, select, " +
                          "[contenteditable='true']");
  }

  function rows() {
    return Array.from(document.querySelectorAll("[data-row]"));
  }

  function select(step) {
    const all = rows();
    if (!all.length) return;
    const now = all.findIndex((r) => r.classList.contains("selected"));
    const next = Math.min(all.length - 1, Math.max(0, now + step));
    all.forEach((r) => r.classList.remove("selected"));
    all[next].classList.add("selected");
    all[next].scrollIntoView({ block: "nearest" });
    const open = all[next].querySelector("a[data-open]") || all[next].querySelector("a, button, input");
    open?.focus({ preventScroll: true });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (typing(event.target)) return;
    if (event.key === "j" || event.key === "k") {
      select(event.key === "j" ? 1 : -1);
    } else if (event.key === "Enter") {
      const row = document.querySelector("[data-row].selected");
      const link = row?.querySelector("a[data-open]");
      if (link) link.click();
      else return;
    } else if (event.key === "/") {
      document.getElementById("search-box")?.focus();
    } else if (event.key === "?") {
      document.getElementById("shortcuts")?.showModal();
    } else {
      const target = document.querySelector(`[data-shortcut="${CSS.escape(event.key)}"]`);
      if (!target) return;
      if (target.matches("input, textarea, select")) target.focus();
      else target.click();
    }
    event.preventDefault();
  });
})();

// ---- the inbox badge, live -------------------------------------------------------------
// The desk says "unread" when a notice is written for this agent (web/pages/inbox.py's
// stream); the badge (base.html) recounts. Its 30-second poll stays as the fallback.
(function () {
  if (!document.getElementById("unread-count") || !window.EventSource) return;
  const stream = new EventSource("/app/inbox/stream");
  stream.addEventListener("unread", () => htmx.trigger(document.body, "notifications-new"));
  window.addEventListener("pagehide", () => stream.close());
})();
