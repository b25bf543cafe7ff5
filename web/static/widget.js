/* The help desk's live chat, embedded in a company's own pages:

     <script src="https://desk.example/widget.js" data-site="shop"
             data-email="ada@example.com" data-name="Ada" data-signature="<hex HMAC>" async></script>

   No framework and no build step. The widget lives in a shadow root on the host page: its
   styles and the page's do not meet, and its calls leave from the page's own origin, so
   the desk's origin gate (api/chat_origins.py) sees which site is calling. Up by fetch
   (POST), down by one EventSource. The conversation's secret is kept in the page's
   localStorage so a reload resumes the conversation. No business rule lives here: the
   desk says who is online, what is refused and what the customer may see. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.site) { return; }
  var desk = new URL(script.src).origin;
  var site = script.dataset.site;
  var given = {
    email: (script.dataset.email || "").trim(),
    name: (script.dataset.name || "").trim(),
    signature: (script.dataset.signature || "").trim()
  };
  var base = desk + "/chat/" + encodeURIComponent(site);
  var storeKey = "helpdesk-chat:" + desk + ":" + site;

  var CSS = [
    ":host { all: initial; }",
    ".hd { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; display: flex;",
    "  flex-direction: column; align-items: flex-end;",
    "  font: 15px/1.4 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2430; }",
    "button { font: inherit; cursor: pointer; }",
    "button:focus-visible, textarea:focus-visible, input:focus-visible {",
    "  outline: 3px solid #ffbf47; outline-offset: 2px; }",
    ".launcher { background: #1f5fbf; color: #fff; border: 0; border-radius: 24px;",
    "  padding: 12px 20px; box-shadow: 0 4px 14px rgba(0,0,0,.2); font-weight: 600; }",
    ".panel { width: 340px; max-width: calc(100vw - 40px); height: 460px;",
    "  max-height: calc(100vh - 100px); background: #fff; border-radius: 12px;",
    "  box-shadow: 0 8px 30px rgba(0,0,0,.25); display: flex; flex-direction: column;",
    "  overflow: hidden; margin-bottom: 12px; }",
    ".panel[hidden] { display: none; }",
    "header { background: #1f5fbf; color: #fff; padding: 10px 14px; display: flex;",
    "  align-items: center; justify-content: space-between; }",
    "header h2 { font-size: 16px; margin: 0; }",
    ".close { background: transparent; color: #fff; border: 0; font-size: 20px; line-height: 1; }",
    ".notice { margin: 0; padding: 8px 14px; background: #fff6d6; border-bottom: 1px solid #eadca0;",
    "  font-size: 14px; }",
    ".notice[hidden] { display: none; }",
    ".notice.error { background: #fde8e8; border-color: #f0b4b4; }",
    ".log { flex: 1; overflow-y: auto; padding: 10px 14px; margin: 0; list-style: none; }",
    ".msg { margin: 6px 0; max-width: 85%; padding: 7px 10px; border-radius: 10px;",
    "  white-space: pre-wrap; word-wrap: break-word; }",
    ".msg.customer { margin-left: auto; background: #1f5fbf; color: #fff; }",
    ".msg.desk { background: #eef1f5; }",
    ".who { display: block; font-size: 12px; opacity: .75; }",
    "form { border-top: 1px solid #dde2ea; padding: 10px 14px; display: grid; gap: 6px; }",
    "label { font-size: 13px; font-weight: 600; }",
    "input, textarea { font: inherit; border: 1px solid #b8c0cc; border-radius: 6px;",
    "  padding: 6px 8px; }",
    "textarea { resize: none; height: 56px; }",
    ".send { background: #1f5fbf; color: #fff; border: 0; border-radius: 6px; padding: 8px; }",
    ".send:disabled { background: #9aa5b5; cursor: default; }",
    ".identity[hidden] { display: none; }",
    ".rating { margin: 8px 14px; padding: 8px; border: 1px dashed #9aa5b5; border-radius: 8px;",
    "  font-size: 14px; }"
  ].join("\n");

  // ---- the page's elements ---------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-helpdesk-chat", site);
  var root = host.attachShadow({ mode: "open" });
  applyStyles(root, CSS);
  root.appendChild(el("div", { className: "hd" }, [
    el("section", { className: "panel", id: "panel", hidden: true, role: "dialog",
                    "aria-labelledby": "title" }, [
      el("header", {}, [
        el("h2", { id: "title", textContent: "Chat with us" }),
        el("button", { className: "close", type: "button", id: "close",
                       "aria-label": "Close the chat", textContent: "\u00d7" })
      ]),
      el("p", { className: "notice", id: "notice", role: "status", hidden: true }),
      el("ol", { className: "log", id: "log", role: "log", "aria-live": "polite",
                 "aria-label": "Conversation" }),
      el("div", { id: "after-log" }),
      el("form", { id: "form", noValidate: true }, [
        el("div", { className: "identity", id: "identity" }, [
          el("label", { htmlFor: "name", textContent: "Your name" }),
          el("input", { id: "name", name: "name", autocomplete: "name", maxLength: 200 }),
          el("label", { htmlFor: "email", textContent: "Your email" }),
          el("input", { id: "email", name: "email", type: "email", autocomplete: "email",
                        required: true, maxLength: 320 })
        ]),
        el("label", { htmlFor: "message", textContent: "Message" }),
        el("textarea", { id: "message", name: "message", required: true, maxLength: 100000,
                         placeholder: "Type your message; Enter sends" }),
        el("button", { className: "send", id: "send", type: "submit", textContent: "Send" })
      ])
    ]),
    el("button", { className: "launcher", id: "launcher", type: "button",
                   "aria-expanded": "false", "aria-controls": "panel",
                   textContent: "Chat with us" })
  ]));
  (document.body || document.documentElement).appendChild(host);

  var $ = function (id) { return root.getElementById(id); };
  var ui = { panel: $("panel"), launcher: $("launcher"), notice: $("notice"), log: $("log"),
             form: $("form"), identity: $("identity"), name: $("name"), email: $("email"),
             message: $("message"), send: $("send"), close: $("close"),
             afterLog: $("after-log") };
  if (given.email) { ui.identity.hidden = true; }

  var state = { saved: load(), online: true, shown: {}, stream: null, blocked: false,
                busy: false, ratingShown: false, retryMs: 1000, unread: 0, maxSeq: 0 };

  // ---- opening and closing (keyboard: the launcher, Escape, focus returned) -------------
  ui.launcher.addEventListener("click", function () { toggle(ui.panel.hidden); });
  ui.close.addEventListener("click", function () { toggle(false); });
  ui.panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { toggle(false); }
  });
  ui.message.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      ui.form.requestSubmit();
    }
  });
  ui.form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });

  function toggle(open) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      markRead();
      if (!state.blocked) { refreshOnline(); }
      (ui.identity.hidden || ui.email.value ? ui.message : (ui.name.value ? ui.email : ui.name)).focus();
    } else {
      labelLauncher();
      ui.launcher.focus();
    }
  }

  // A reply that arrives while the panel is closed is counted on the launcher, so a
  // customer browsing on is told; what they have read is kept with the conversation.
  function labelLauncher() {
    if (!ui.panel.hidden) { ui.launcher.textContent = "Close chat"; return; }
    ui.launcher.textContent = state.unread ? "Chat with us (" + state.unread + " new)"
                                           : "Chat with us";
  }

  function markRead() {
    state.unread = 0;
    labelLauncher();
    if (state.saved && state.maxSeq > (state.saved.readSeq || 0)) {
      state.saved.readSeq = state.maxSeq;
      save(state.saved);
    }
  }

  function refreshOnline() {  // someone may have signed in (or left) since the page loaded
    call("GET", "/status").then(function (r) {
      if (r.ok) { state.online = r.data.online; showAway(); }
    }, function () { /* the stream's own retries tell if the desk is gone */ });
  }

  // ---- talking to the desk --------------------------------------------------------------
  function call(method, path, body, headers) {
    var init = { method: method, headers: Object.assign({}, headers || {}), mode: "cors",
                 credentials: "omit" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(base + path, init).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (err) { data = null; }
        return { ok: r.ok, status: r.status, data: data };
      });
    });
  }

  function cannotConnect() {
    state.blocked = true;
    ui.send.disabled = true;
    say("Chat cannot connect from this page. Please contact us another way.", true);
  }

  function begin() {
    call("GET", "/status").then(function (r) {
      if (!r.ok) { cannotConnect(); return; }
      state.online = r.data.online;
      if (r.data.require_verified_identity && !given.signature) {
        state.blocked = true;
        ui.send.disabled = true;
        say("Please sign in on this site to chat with us.", true);
        return;
      }
      if (state.saved) { resume(); } else { showAway(); }
    }, cannotConnect);
  }

  function resume() {
    call("GET", "/conversation", undefined, { "X-Chat-Secret": state.saved.secret })
      .then(function (r) {
        if (r.status === 401 || r.status === 404) { forget(); showAway(); return; }
        if (!r.ok) { cannotConnect(); return; }
        state.online = r.data.online;
        ui.identity.hidden = true;
        showAway();
        follow();
      }, cannotConnect);
  }

  function showAway() {
    if (state.online) { say(""); return; }
    var address = (state.saved && state.saved.email) || given.email || ui.email.value.trim();
    say(address ? "We're away; we'll answer by email at " + address + "."
                : "We're away; leave a message and we'll answer by email.");
  }

  function submit() {
    if (state.blocked || state.busy) { return; }
    var text = ui.message.value;
    if (!text.trim()) { ui.message.focus(); return; }
    if (state.saved && state.saved.secret) { postMessage(text); } else { start(text); }
  }

  function start(text) {
    var email = given.email || ui.email.value.trim();
    if (!email || (!given.email && !ui.email.checkValidity())) {
      say("Please give your email address, so we can answer you.", true);
      ui.email.focus();
      return;
    }
    // The key is kept before the call: a retry after a lost answer opens no second ticket.
    var pending = state.pending || { key: uuid(), email: email, text: text };
    if (pending.email !== email || pending.text !== text) {
      pending = { key: uuid(), email: email, text: text };
    }
    state.pending = pending;
    busy(true);
    var body = { email: email, message: text };
    var name = given.name || ui.name.value.trim();
    if (name) { body.name = name; }
    if (given.signature) { body.signature = given.signature; }
    call("POST", "/conversations", body, { "Idempotency-Key": pending.key }).then(function (r) {
      busy(false);
      if (!r.ok) { refused(r); return; }
      state.pending = null;
      state.saved = { secret: r.data.secret, email: r.data.email, ref: r.data.ticket.public_ref };
      save(state.saved);
      state.online = r.data.online;
      ui.identity.hidden = true;
      ui.message.value = "";
      showAway();
      follow();
    }, function () { busy(false); cannotConnect(); });
  }

  function postMessage(text) {
    busy(true);
    call("POST", "/messages", { body: text, client_id: uuid() },
         { "X-Chat-Secret": state.saved.secret }).then(function (r) {
      busy(false);
      if (r.status === 401) { forget(); say("This chat has ended; send again to start a new one.", true); return; }
      if (!r.ok) { refused(r); return; }
      ui.message.value = "";
      show(r.data);
      if (r.data.ticket.public_ref !== state.saved.ref) {
        // Written long after the chat was closed: it opened a follow-up ticket; follow that.
        state.saved.ref = r.data.ticket.public_ref;
        save(state.saved);
        follow();
      }
    }, function () { busy(false); say("Not sent: the connection failed. Try again.", true); });
  }

  function refused(r) {
    var detail = r.data && (r.data.detail || r.data.title);
    if (r.status === 403 && r.data && /identity/.test(r.data.type || "")) {
      say("We could not confirm who you are: please sign in on this site to chat with us.", true);
    } else if (r.status === 429) {
      say("Too many messages at once; please wait a moment.", true);
    } else {
      say(detail || "Something went wrong; please try again.", true);
    }
  }

  // Down: one EventSource, on a stream URL the desk signs for a minute (EventSource cannot
  // send the secret as a header, and the secret must not sit in a URL). The browser
  // reconnects on its own after a blip; once the URL has expired the desk refuses it and
  // the widget asks for a new one. The desk resends the conversation on each connect and a
  // message already shown is skipped by its id.
  function follow() {
    if (state.stream) { state.stream.close(); state.stream = null; }
    if (!state.saved) { return; }
    call("POST", "/stream-url", undefined, { "X-Chat-Secret": state.saved.secret })
      .then(function (r) {
        if (r.status === 401) {
          forget();
          say("This chat has ended; send a message to start a new one.");
          return;
        }
        if (!r.ok) { later(); return; }
        listen(new EventSource(desk + r.data.url));
      }, later);
  }

  function listen(source) {
    state.stream = source;
    source.addEventListener("open", function () { state.retryMs = 1000; });
    source.addEventListener("hello", function (e) {
      state.online = JSON.parse(e.data).online;
      showAway();
    });
    source.addEventListener("message", function (e) { show(JSON.parse(e.data)); });
    source.addEventListener("ticket", function (e) { ticketChanged(JSON.parse(e.data)); });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED && state.stream === source) { later(); }
    });
  }

  function later() {  // back off, up to half a minute, while the desk cannot be reached
    if (state.stream) { state.stream.close(); state.stream = null; }
    var wait = state.retryMs;
    state.retryMs = Math.min(state.retryMs * 2, 30000);
    setTimeout(follow, wait);
  }

  function show(m) {
    if (!m || state.shown[m.id]) { return; }
    state.shown[m.id] = true;
    var mine = m.author_type === "customer";
    state.maxSeq = Math.max(state.maxSeq, m.seq);
    if (ui.panel.hidden) {
      if (!mine && m.seq > ((state.saved && state.saved.readSeq) || 0)) {
        state.unread += 1;
        labelLauncher();
      }
    } else {
      markRead();
    }
    ui.log.appendChild(el("li", { className: "msg " + (mine ? "customer" : "desk") }, [
      el("span", { className: "who", textContent: mine ? "You" : "Support" }),
      document.createTextNode(m.body)
    ]));
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function ticketChanged(ticket) {
    if (ticket.status === "resolved" && !state.ratingShown) {
      state.ratingShown = true;
      onTicketResolved(ticket);
    }
  }

  /* The chat's ticket turned resolved: ask how we did, once per resolution. The desk says
     whether a rating is still due (and where its page is); the page opens in a new tab, so
     the answer is recorded by the desk's own rating page, as from the resolution mail. */
  function onTicketResolved(ticket) {
    call("GET", "/conversation", undefined, { "X-Chat-Secret": state.saved.secret })
      .then(function (r) {
        if (!r.ok || !r.data.rating_path) { return; }
        var link = function (label, choice) {
          return el("a", { className: "rate " + choice, textContent: label, target: "_blank",
                           rel: "noopener", href: desk + r.data.rating_path + "?r=" + choice });
        };
        ui.afterLog.replaceChildren(el("div", { className: "rating", id: "rating" }, [
          el("p", { textContent: "This conversation (" + ticket.public_ref + ") is resolved. " +
                                 "How did we do?" }),
          link("Good", "good"), document.createTextNode(" "), link("Bad", "bad")
        ]));
      }, function () { /* no prompt then; the resolution mail asks as well */ });
  }

  // ---- small helpers ----------------------------------------------------------------------
  function say(text, error) {
    ui.notice.textContent = text;
    ui.notice.hidden = !text;
    ui.notice.classList.toggle("error", Boolean(error));
  }

  function busy(on) {
    state.busy = on;
    ui.send.disabled = on || state.blocked;
    ui.form.setAttribute("aria-busy", String(on));
  }

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(storeKey) || "null");
      // Another visitor signed in on this browser: not their conversation.
      if (saved && given.email && saved.email !== given.email.toLowerCase()) { return null; }
      return saved;
    } catch (err) { return null; }
  }

  function save(value) {
    try { localStorage.setItem(storeKey, JSON.stringify(value)); } catch (err) { /* private mode */ }
  }

  function forget() {
    state.saved = null;
    if (state.stream) { state.stream.close(); state.stream = null; }
    try { localStorage.removeItem(storeKey); } catch (err) { /* private mode */ }
    ui.identity.hidden = Boolean(given.email);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function applyStyles(target, css) {
    // A constructed sheet needs no inline <style>, which the host page's CSP may forbid.
    if ("adoptedStyleSheets" in target && window.CSSStyleSheet) {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(css);
        target.adoptedStyleSheets = [sheet];
        return;
      } catch (err) { /* fall through */ }
    }
    target.appendChild(el("style", { textContent: css }));
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key.indexOf("-") >= 0 || key === "role") { node.setAttribute(key, props[key]); }
      else { node[key] = props[key]; }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  begin();
})();
