// The help form's own behaviour (no inline script: the CSP forbids it). The live answers are
// htmx's (form_page.html, hx-trigger with a 500 ms delay); this script only tells the page
// that frames the form (help_embed.js) how tall it is, so the frame fits without a scrollbar.
(function () {
  "use strict";
  if (window.parent === window) {
    return;
  }
  var last = 0;
  function postHeight() {
    // The body's own height: the document's is at least the frame's, so it never shrinks.
    var style = window.getComputedStyle(document.body);
    var height = Math.ceil(document.body.getBoundingClientRect().height +
                           parseFloat(style.marginTop) + parseFloat(style.marginBottom));
    if (height === last) {
      return;
    }
    last = height;
    // Only a height goes out, nothing the customer typed: any parent may hear it. The
    // embedding script checks that the message comes from the desk's origin and its frame.
    window.parent.postMessage({ type: "helpdesk:height", height: height }, "*");
  }
  document.addEventListener("DOMContentLoaded", function () {
    postHeight();
    if (window.ResizeObserver) {
      new ResizeObserver(postHeight).observe(document.body);
    }
    document.body.addEventListener("htmx:afterSettle", postHeight);
  });
  window.addEventListener("load", postHeight);
})();
