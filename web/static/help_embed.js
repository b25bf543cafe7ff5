// Puts the desk's help form on another site, served as /help/embed.js:
//   <script src="https://desk.example.com/help/embed.js" data-site="shop" async></script>
// The frame goes after the script tag (or into the element `data-target` names) and takes the
// height the form reports (help_form.js), from the desk's own origin and frame only. The desk
// lets the form be framed only by the site's allowed origins (/api/v1/admin/sites).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) {
    return;
  }
  var desk = new URL(script.src).origin;
  var site = script.getAttribute("data-site") || "";
  var frame = document.createElement("iframe");
  frame.src = desk + "/help" + (site ? "?site=" + encodeURIComponent(site) : "");
  frame.title = script.getAttribute("data-title") || "Contact support";
  frame.className = "helpdesk-form";
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.height = "720px";
  var target = script.getAttribute("data-target");
  var host = target ? document.querySelector(target) : null;
  if (host) {
    host.appendChild(frame);
  } else {
    script.parentNode.insertBefore(frame, script.nextSibling);
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== desk || event.source !== frame.contentWindow) {
      return;
    }
    var data = event.data;
    if (!data || data.type !== "helpdesk:height" || typeof data.height !== "number") {
      return;
    }
    frame.style.height = Math.max(200, Math.min(Math.ceil(data.height), 10000)) + "px";
  });
})();
