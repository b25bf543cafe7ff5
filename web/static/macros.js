// Macros in the composer: "/" at the start of a line offers the agent's macros in a listbox
// under the reply box (arrows move, Enter picks, Escape closes). Picking one replaces the
// "/query" with the macro's body, rendered for the ticket by the server, and sets the form's
// hidden macro_id, so that sending the reply also applies the macro's actions, which are
// listed under the box. Attaches to any textarea[data-macros][data-ticket] inside a form
// with an input named macro_id. The management page's own bits come last.
//
// The textarea keeps its textbox role (it is a multi-line editor, and other code finds it
// by it) and gets the combobox's states: aria-expanded, aria-controls,
// aria-activedescendant, aria-autocomplete="list".
"use strict";

(function () {
  const SUGGEST = "/app/macros/suggest";
  const WAIT_MS = 120; // after the last key, before asking for suggestions
  let count = 0;

  async function get(url, signal) {
    const response = await fetch(url, { headers: { "HX-Request": "true" }, signal });
    const away = response.headers.get("HX-Redirect"); // the session ended: sign in again
    if (away) window.location.assign(away);
    return response;
  }

  // A refusal comes back as the workspace's problem fragment: show it in #flash.
  function showRefusal(html) {
    const problem = new DOMParser().parseFromString(html, "text/html").querySelector(".problem");
    const text = problem ? problem.textContent.replace("×", "").replace(/\s+/g, " ").trim() : "";
    window.helpdesk?.flash(text || "The macro could not be inserted; please try again.");
  }

  function attach(textarea) {
    if (textarea.dataset.macrosReady) return;
    textarea.dataset.macrosReady = "1";
    count += 1;
    const listbox = document.createElement("ul");
    listbox.id = `macro-listbox-${count}`;
    listbox.className = "macro-listbox";
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-label", "Macros");
    listbox.hidden = true;
    const note = document.createElement("p");
    note.className = "macro-note";
    note.setAttribute("aria-live", "polite");
    note.hidden = true;
    textarea.after(listbox, note);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", listbox.id);
    textarea.setAttribute("aria-expanded", "false");

    let token = null; // the "/query" being typed: {start, end, query}
    let dismissed = null; // where a "/" starts that the agent closed with Escape
    let timer = 0;
    let pending = null;
    let active = -1;
    let quiet = false; // our own insertion is not typing

    const options = () => Array.from(listbox.querySelectorAll('[role="option"]'));
    const macroField = () => textarea.form?.elements.namedItem("macro_id");

    function close() {
      pending?.abort();
      listbox.hidden = true;
      listbox.replaceChildren();
      textarea.setAttribute("aria-expanded", "false");
      textarea.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      const all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      all.forEach((option, i) => option.setAttribute("aria-selected", String(i === active)));
      textarea.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }

    // "/" then up to 60 characters, from the start of the caret's line to the caret.
    function tokenAtCaret() {
      const caret = textarea.selectionStart;
      if (caret !== textarea.selectionEnd) return null;
      const lineStart = textarea.value.lastIndexOf("\n", caret - 1) + 1;
      const match = /^\/([^\n]{0,60})$/.exec(textarea.value.slice(lineStart, caret));
      return match ? { start: lineStart, end: caret, query: match[1] } : null;
    }

    async function suggest() {
      token = tokenAtCaret();
      if (!token) dismissed = null;
      if (!token || token.start === dismissed) {
        close();
        return;
      }
      pending?.abort();
      pending = new AbortController();
      try {
        const response = await get(`${SUGGEST}?q=${encodeURIComponent(token.query)}`,
                                   pending.signal);
        if (response.ok) show(await response.text());
        else close();
      } catch (err) {
        if (err.name !== "AbortError") close();
      }
    }

    function show(html) {
      listbox.innerHTML = html; // our server's fragment, escaped by its templates
      const all = options();
      if (!all.length || document.activeElement !== textarea) {
        close();
        return;
      }
      all.forEach((option, i) => { option.id = `${listbox.id}-${i}`; });
      listbox.hidden = false;
      textarea.setAttribute("aria-expanded", "true");
      highlight(0);
    }

    async function pick(option) {
      const at = token;
      close();
      if (!at) return;
      const id = option.dataset.macroId;
      const ticket = encodeURIComponent(textarea.dataset.ticket);
      const response = await get(`/app/tickets/${ticket}/macros/${encodeURIComponent(id)}/render`);
      if (!response.ok) {
        showRefusal(await response.text());
        return;
      }
      const macro = await response.json();
      insert(at, macro.body);
      remember(id, option.dataset.macroName, macro.will_also);
    }

    // In place of the "/query"; if the agent typed on meanwhile, at the caret.
    function insert(at, body) {
      const still = textarea.value.slice(at.start, at.end) === `/${at.query}`;
      const start = still ? at.start : textarea.selectionStart;
      const end = still ? at.end : textarea.selectionEnd;
      textarea.focus();
      textarea.setRangeText(body, start, end, "end");
      quiet = true; // others (a draft saver) hear of the change; our own listener does not
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
      quiet = false;
    }

    function remember(id, name, words) {
      const field = macroField();
      if (field) field.value = id;
      note.replaceChildren();
      note.hidden = !words.length;
      if (!words.length) return;
      const what = document.createElement("span");
      what.textContent = `Sending will also: ${words.join(", ")}`;
      what.title = `from the macro “${name}”`;
      const undo = document.createElement("button");
      undo.type = "button";
      undo.className = "link";
      undo.textContent = "Don’t apply";
      undo.setAttribute("aria-label", `Don’t apply the actions of “${name}”`);
      undo.addEventListener("click", () => {
        forget();
        textarea.focus();
      });
      note.append(what, " ", undo);
    }

    function forget() {
      const field = macroField();
      if (field) field.value = "";
      note.hidden = true;
      note.replaceChildren();
    }

    textarea.addEventListener("input", () => {
      if (quiet) return;
      clearTimeout(timer);
      timer = setTimeout(suggest, WAIT_MS);
    });
    textarea.addEventListener("keyup", (event) => {
      if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) suggest();
    });
    textarea.addEventListener("blur", close);
    textarea.addEventListener("keydown", (event) => {
      if (listbox.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && !event.shiftKey) {
        const option = options()[active];
        if (!option) return;
        pick(option);
      } else if (event.key === "Escape") {
        dismissed = token ? token.start : null;
        close();
        event.stopPropagation(); // app.js would otherwise take the focus out of the box
      } else {
        return;
      }
      event.preventDefault();
    });
    // A click picks; pressing the mouse must not take the focus from the reply box.
    listbox.addEventListener("mousedown", (event) => event.preventDefault());
    listbox.addEventListener("click", (event) => {
      const option = event.target.closest('[role="option"]');
      if (option) pick(option);
    });
    textarea.form?.addEventListener("reset", () => {
      close();
      forget();
    });
  }

  function attachAll(root) {
    root.querySelectorAll?.("textarea[data-macros][data-ticket]").forEach(attach);
  }

  // ---- the management page -----------------------------------------------------------------
  function syncTeamField() {
    const scope = document.getElementById("macro-scope");
    const team = document.querySelector("[data-team-field]");
    if (scope && team) team.hidden = scope.value !== "team";
  }

  document.addEventListener("change", (event) => {
    if (event.target.id === "macro-scope") syncTeamField();
  });
  // A new macro was saved (the server's HX-Trigger): the form is ready for the next one.
  document.addEventListener("macro-saved", () => {
    document.getElementById("macro-form")?.reset();
    syncTeamField();
    document.getElementById("macro-name")?.focus();
  });

  document.addEventListener("DOMContentLoaded", () => {
    attachAll(document);
    syncTeamField();
  });
  document.addEventListener("htmx:load", (event) => attachAll(event.detail.elt));
})();
