// The lists: live counts and rows, the selection for bulk changes, and the filter form.
// What a list shows and what a change may do is decided by the server; this only keeps the
// page current and the selection intact while it is.
"use strict";

(function () {
  const MIN_GAP_MS = 500; // at most two refreshes a second, however busy the desk
  let timer = null;
  let last = 0;

  // ---- live: the queue stream says something changed; fetch what shows it ------------
  function refresh() {
    if (document.getElementById("views")) {
      htmx.ajax("GET", "/app/views", { target: "#views", swap: "outerHTML" });
    }
    if (document.getElementById("results")) {
      htmx.ajax("GET", location.pathname + location.search,
                { target: "#results", swap: "outerHTML" });
    }
  }

  function soon() {
    if (timer) return;
    const wait = Math.max(0, MIN_GAP_MS - (Date.now() - last));
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      refresh();
    }, wait);
  }

  function listen() {
    const stream = new EventSource("/app/stream/queue");
    let broken = false;
    stream.addEventListener("ticket", soon);
    stream.addEventListener("error", () => { broken = true; });
    // Back after a break: what happened meanwhile may not all be replayed.
    stream.addEventListener("open", () => { if (broken) soon(); broken = false; });
  }

  // ---- "updated 5 min ago": the rows refresh every minute, and so does this ------------
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });

  function ago(at) {
    const minutes = Math.floor((Date.now() - at) / 60000);
    if (minutes < 1) return "just now";
    if (minutes < 60) return relative.format(-minutes, "minute");
    if (minutes < 24 * 60) return relative.format(-Math.floor(minutes / 60), "hour");
    const thisYear = at.getFullYear() === new Date().getFullYear();
    return at.toLocaleDateString(undefined, thisYear ? { month: "short", day: "numeric" }
                                                     : { dateStyle: "medium" });
  }

  function updatedTimes() {
    document.querySelectorAll("#results time[data-local='ago']").forEach((el) => {
      const at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      el.textContent = ago(at);
      el.title = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    });
  }

  // ---- the selection survives every refresh of the rows -------------------------------
  let kept = null;

  function boxes() {
    return Array.from(document.querySelectorAll("#results input[name='ticket']"));
  }

  function remember() {
    const focused = document.activeElement;
    const row = focused?.closest?.("#results [data-row]");
    kept = {
      checked: new Set(boxes().filter((b) => b.checked).map((b) => b.value)),
      current: document.querySelector("#results [data-row].selected")?.dataset.ref,
      focusRef: row?.dataset.ref,
      focusBox: focused?.matches?.("input[name='ticket']") || false,
      focusAll: focused?.id === "select-all",
    };
  }

  function restore() {
    if (!kept) return;
    boxes().forEach((b) => { b.checked = kept.checked.has(b.value); });
    const rows = document.querySelectorAll("#results [data-row]");
    rows.forEach((r) => r.classList.toggle("selected", r.dataset.ref === kept.current));
    if (kept.focusAll) {
      document.getElementById("select-all")?.focus({ preventScroll: true });
    } else if (kept.focusRef) {
      const row = document.querySelector(`#results [data-row][data-ref="${CSS.escape(kept.focusRef)}"]`);
      row?.querySelector(kept.focusBox ? "input[name='ticket']" : "a[data-open]")
        ?.focus({ preventScroll: true });
    }
    kept = null;
    showSelection();
  }

  function showSelection() {
    const all = boxes();
    const chosen = all.filter((b) => b.checked).length;
    const count = document.getElementById("selected-count");
    if (count) count.textContent = chosen ? `${chosen} selected` : "None selected";
    document.querySelectorAll("[data-needs-selection]").forEach((b) => { b.disabled = !chosen; });
    const every = document.getElementById("select-all");
    if (every) {
      every.checked = all.length > 0 && chosen === all.length;
      every.indeterminate = chosen > 0 && chosen < all.length;
    }
    all.forEach((b) => b.closest("tr")?.classList.toggle("checked", b.checked));
  }

  // A refreshed sidebar keeps the keyboard where it was.
  let sidebarFocus = null;

  document.addEventListener("htmx:beforeSwap", (event) => {
    const id = event.detail.target?.id;
    if (!event.detail.shouldSwap) return;
    if (id === "results") remember();
    if (id === "views") {
      sidebarFocus = document.activeElement?.closest?.("#views a")?.getAttribute("href");
    }
  });
  // Restored as soon as the new rows are in (not at settle, 20 ms later, when a bulk
  // change's answer may have changed the selection in between).
  document.addEventListener("htmx:afterSwap", (event) => {
    if (kept && event.detail.target?.id === "results") restore();
  });
  document.addEventListener("htmx:afterSettle", () => {
    updatedTimes();
    if (sidebarFocus) {
      document.querySelector(`#views a[href="${CSS.escape(sidebarFocus)}"]`)?.focus();
      sidebarFocus = null;
    }
    showSelection();
  });

  document.addEventListener("change", (event) => {
    const el = event.target;
    if (el.id === "select-all") {
      boxes().forEach((b) => { b.checked = el.checked; });
    }
    if (el.closest("#filters") && el.tagName === "SELECT") {
      el.form.requestSubmit();
    }
    showSelection();
  });

  // The row the keyboard is in is the selected one, however it got there (Tab, a click).
  document.addEventListener("focusin", (event) => {
    const row = event.target.closest?.("#results [data-row]");
    if (!row || row.classList.contains("selected")) return;
    document.querySelectorAll("#results [data-row].selected")
      .forEach((r) => r.classList.remove("selected"));
    row.classList.add("selected");
  });

  // x ticks the row j/k selected, like a click on its checkbox.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "x" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input:not([type='checkbox']), textarea, select, [contenteditable='true']")) return;
    const box = document.querySelector("#results [data-row].selected input[name='ticket']");
    if (!box) return;
    box.click();
    event.preventDefault();
  });

  // A bulk change is done: the rows and counts show it now, not at the next event; the
  // tickets it refused stay selected so they can be seen and tried otherwise.
  document.body.addEventListener("lists-changed", (event) => {
    const refused = new Set(event.detail?.refused || []);
    boxes().forEach((b) => { b.checked = refused.has(b.value); });
    if (kept) kept.checked = refused; // rows being swapped in right now
    showSelection();
    soon();
  });

  // Empty filter fields are "any": leave them out of the URL.
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt?.id !== "filters") return;
    const form = event.detail.formData;
    if (!form) return;
    Array.from(new Set(form.keys())).forEach((name) => {
      if (form.getAll(name).every((v) => v === "")) form.delete(name);
    });
  });

  document.addEventListener("click", (event) => {
    const dismiss = event.target.closest(".notice .dismiss");
    if (dismiss) dismiss.closest(".notice").remove();
  });

  document.addEventListener("DOMContentLoaded", () => {
    updatedTimes();
    showSelection();
    listen();
  });
})();
