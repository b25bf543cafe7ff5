// The ticket page: its live stream (new messages, changes, who else is here), this tab's
// presence, the composer's reply / internal note switch, and the conversation's live tail.
// What may be done to the ticket is decided on the server; this script shows and refreshes.
"use strict";

(function () {
  const root = document.getElementById("ticket");
  if (!root) return;
  const ref = root.dataset.ref;
  const base = `/app/tickets/${encodeURIComponent(ref)}`;
  const heartbeatMs = Number(root.dataset.heartbeat || 10) * 1000;
  const tab = newTabId();

  // ---- requests ------------------------------------------------------------------------
  function csrfToken() {
    const found = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
  }

  function post(url, fields, keepalive) {
    return fetch(url, {
      method: "POST", body: new URLSearchParams(fields), credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }, keepalive: !!keepalive,
    });
  }

  function newTabId() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    // Plain http on a LAN address is not a secure context: no randomUUID there.
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function signedOut(response) {
    const target = response.headers.get("HX-Redirect");
    if (response.status === 401 && target) window.location.assign(target);
    return response.status === 401;
  }

  // ---- presence: this tab viewing or replying, others shown from the stream ----------------
  let presence = "viewing";
  let idle = null;

  function announce(state) {
    presence = state;
    post(`${base}/presence`, { tab, state }).then(signedOut).catch(() => {});
  }

  function typing() {
    if (presence !== "replying") announce("replying");
    clearTimeout(idle);
    idle = setTimeout(() => announce("viewing"), 20000);
  }

  function showPresence(others) {
    const box = document.getElementById("presence");
    box.textContent = others.map((o) => `${o.name} is ${o.replying ? "replying" : "viewing"}`)
      .join(" · ");
    box.classList.toggle("replying", others.some((o) => o.replying));
  }

  announce("viewing");
  setInterval(() => announce(presence), heartbeatMs);
  window.addEventListener("pagehide", () => post(`${base}/presence/leave`, { tab }, true));
  window.addEventListener("pageshow", (event) => { if (event.persisted) announce(presence); });

  // ---- live: the ticket's stream ------------------------------------------------------
  const stream = new EventSource(`/app/stream/tickets/${encodeURIComponent(ref)}`);
  stream.addEventListener("ticket", () => refresh());
  stream.addEventListener("reset", () => refresh());
  stream.addEventListener("presence", (event) => showPresence(JSON.parse(event.data).others));
  window.addEventListener("pagehide", () => stream.close());
  // A command of this tab answered with HX-Trigger: ticket-changed.
  document.addEventListener("ticket-changed", () => refresh());

  // One refresh at a time: a burst of events becomes at most one more round.
  let running = null;
  let again = false;
  let partsWaiting = false;

  function refresh() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await loadTail();
        await loadParts();
      } while (again);
    })().catch(() => {}).finally(() => { running = null; });
    return running;
  }

  async function loadTail() {
    const list = document.getElementById("messages");
    for (let round = 0; round < 20; round++) {
      const shown = list.querySelectorAll("li.message");
      const after = shown.length ? shown[shown.length - 1].dataset.cursor : "";
      const response = await fetch(`${base}/conversation/tail?after=${encodeURIComponent(after)}`,
        { credentials: "same-origin", headers: { "HX-Request": "true" } });
      if (signedOut(response) || !response.ok) return;
      const page = document.createElement("template");
      page.innerHTML = await response.text();
      const added = Array.from(page.content.querySelectorAll("li.message"))
        .filter((li) => !document.getElementById(li.id));
      added.forEach((li) => {
        list.appendChild(li);
        htmx.process(li);
        window.helpdesk.localTimes(li);
      });
      if (added.length) {
        document.getElementById("conversation-status").textContent =
          added.length === 1 ? "1 new message" : `${added.length} new messages`;
      }
      if (response.headers.get("X-More") !== "1") return;
    }
  }

  function editingParts() {
    const el = document.activeElement;
    return !!el && !!el.closest("#ticket-head, #ticket-side") && el.matches("input, select");
  }

  async function loadParts() {
    if (editingParts()) { // swapping would throw away what the agent is typing or choosing
      partsWaiting = true;
      return;
    }
    partsWaiting = false;
    const merges = document.getElementById("ticket-head").dataset.merges;
    await htmx.ajax("GET", `${base}/parts`, { target: "#ticket-head", swap: "none" });
    syncSeen();
    if (document.getElementById("ticket-head").dataset.merges !== merges) {
      // A ticket merged in brings older messages: they belong above, so list it all anew.
      await htmx.ajax("GET", `${base}/conversation`, { target: "#messages", swap: "innerHTML" });
    }
  }

  // A choice made or text typed in the side panel but not sent yet (the agent picked
  // "urgent" and is on the way to Set) survives a refresh of the panel, instead of the old
  // value coming back under the button. It is copied into the new panel before that is
  // swapped in, in the same task: a click landing between the swap and a later restore
  // would find the box empty and the form refused.
  function unsentChoices() {
    const changed = (el) => (el.matches("select")
      ? Array.from(el.options).some((o) => o.selected !== o.defaultSelected)
      : el.value !== el.defaultValue);
    return Array.from(document.querySelectorAll("#ticket-side select[id], #ticket-side input[id]"))
      .filter(changed)
      .map((el) => [el.id, el.value]);
  }

  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    if (event.detail.target.id !== "ticket-side") return;
    const fragment = event.detail.fragment;
    unsentChoices().forEach(([id, value]) => {
      const el = fragment.querySelector(`#${CSS.escape(id)}`);
      if (el && !el.disabled) el.value = value;
    });
  });

  // What a form sends is no longer unsent: the refresh after its command shows the result.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.detail.elt.closest && event.detail.elt.closest("#ticket-side form");
    if (!form) return;
    form.querySelectorAll("select, input").forEach((el) => {
      if (el.matches("select")) Array.from(el.options).forEach((o) => { o.defaultSelected = o.selected; });
      else el.defaultValue = el.value;
    });
  });

  document.addEventListener("focusout", () => {
    setTimeout(() => { if (partsWaiting && !editingParts()) refresh(); }, 0);
  });

  // ---- composer -----------------------------------------------------------------------
  function composerBody() {
    return document.getElementById("composer-body");
  }

  // What the agent has seen follows the page while they are not writing; once they are,
  // it stays where they started, and the server asks before sending over a newer change.
  function syncSeen() {
    const head = document.getElementById("ticket-head");
    const seen = document.getElementById("composer-seen");
    const body = composerBody();
    if (head && seen && body && !body.value.trim() && !document.querySelector(".collision")) {
      seen.value = head.dataset.seen;
    }
  }

  function showMode() {
    const form = document.getElementById("composer");
    if (!form) return;
    const internal = form.querySelector("input[name=visibility]:checked")?.value === "internal";
    form.classList.toggle("is-internal", internal);
    const label = document.getElementById("composer-body-label");
    label.textContent = internal ? label.dataset.internal : label.dataset.public;
  }

  document.addEventListener("change", (event) => {
    if (event.target.matches("#composer input[name=visibility]")) showMode();
  });
  // r and n (app.js clicks their labels) switch and go straight to writing.
  document.addEventListener("click", (event) => {
    if (event.target.closest("#composer .mode")) setTimeout(() => composerBody()?.focus(), 0);
    if (event.target.closest(".dismiss-collision")) {
      document.getElementById("composer-alert").replaceChildren();
    }
    // The merge form's confirmation, or the one a "Possible duplicates" button asked for.
    if (event.target.closest(".dismiss-merge")) event.target.closest(".merge-confirm")?.remove();
  });
  document.addEventListener("input", (event) => {
    if (event.target.id === "composer-body") typing();
  });

  // ---- after each swap ----------------------------------------------------------------
  let focused = null;
  document.addEventListener("htmx:beforeSwap", () => { focused = document.activeElement?.id; });
  // The agent moved the focus themselves while a swap settled (Escape left the composer, a
  // click went elsewhere): theirs to keep, not to be pulled back into the box.
  const letGo = () => { focused = null; };
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") letGo(); }, true);
  document.addEventListener("mousedown", letGo, true);
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target.id === "composer") { // sent: a fresh composer
      announce("viewing");
      showMode();
    }
    // Swapped-out controls take the focus with them: put it back on their successor.
    if (focused && (!document.activeElement || document.activeElement === document.body)) {
      document.getElementById(focused)?.focus();
    }
  });
})();
