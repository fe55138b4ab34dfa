// Customers section: on a phone, the list's filters start folded unless one is active.
(function () {
  "use strict";
  function fold() {
    if (!window.matchMedia("(max-width: 800px)").matches) { return; }
    document.querySelectorAll("details[data-collapse-on-phone]:not([data-active])").forEach(function (el) {
      el.removeAttribute("open");
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", fold); } else { fold(); }
})();
