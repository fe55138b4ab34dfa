// Rule forms: show the fields of the chosen kind only (force, rollout, experiment). Without JS every field shows.
(function () {
  "use strict";
  function sync(select) {
    var form = select.form;
    if (!form) { return; }
    Array.prototype.forEach.call(form.querySelectorAll("[data-kinds]"), function (el) {
      var kinds = el.getAttribute("data-kinds").split(" ");
      el.hidden = kinds.indexOf(select.value) === -1;
    });
  }
  function init(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("select[data-rule-kind]"), sync);
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-rule-kind]")) { sync(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();
