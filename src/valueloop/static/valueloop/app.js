// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var open = document.body.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var confirmer = event.target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    var typing = tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable;
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      // The last visible target wins: the search page's own field before the top bar's.
      var targets = Array.prototype.filter.call(document.querySelectorAll("[data-hotkey='/']"), function (el) {
        return el.offsetParent !== null || el.getClientRects().length > 0;
      });
      var search = targets[targets.length - 1];
      if (search) { event.preventDefault(); search.focus(); if (search.select) { search.select(); } }
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches("[data-submit-on-ctrl-enter]")) {
      event.preventDefault();
      var form = event.target.form;
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  });
  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) { event.target.select(); }
  });
})();
