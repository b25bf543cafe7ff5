// The workspace's one script: CSRF on every htmx request, how errors show, local times,
// and the keyboard. Pages declare behaviour in HTML (htmx attributes, data-shortcut,
// data-row); no business rule lives here.
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

  // <time datetime="...Z"> in the agent's own zone and language.
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
