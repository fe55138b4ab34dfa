// Planning pages: inline row editing, what-if, suggestion buttons. Every page works without it.
(function () {
  "use strict";
  // htmx leaves 4xx answers unswapped; our forms answer 400/422 with the form and its field errors.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 400 || status === 422) && event.detail.requestConfig.elt.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // After a row is swapped (editor opened, saved, cancelled), put the keyboard focus where work continues.
  var pending = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var row = event.target.closest ? event.target.closest("tr[id]") : null;
    pending = row ? { id: row.id, verb: event.detail.requestConfig.verb } : null;
  });
  document.addEventListener("htmx:load", function (event) {
    var row = event.target;
    if (!pending || !row.matches || !row.matches("tr[id]") || row.id !== pending.id) { return; }
    var verb = pending.verb;
    pending = null;
    if (row.classList.contains("editing")) {
      var first = row.querySelector("[aria-invalid=true]") || row.querySelector("details[open] input, details[open] select");
      if (first) { first.focus(); }
    } else {
      var edit = row.querySelector("[data-edit-row]");
      if (edit) { edit.focus(); }
      if (verb === "post") { row.scrollIntoView({ block: "nearest" }); }
    }
  });
  document.body.addEventListener("planning-ranked", function () {
    var note = document.getElementById("resort-note");
    if (note) { note.hidden = false; }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var editor = event.target.closest && event.target.closest("tr.editing");
    if (!editor) { return; }
    var cancel = editor.querySelector("[data-cancel]");
    if (cancel) { event.preventDefault(); cancel.click(); }
  });
  document.addEventListener("click", function (event) {
    var fill = event.target.closest("[data-fill-target]");
    if (!fill) { return; }
    var input = document.getElementById(fill.getAttribute("data-fill-target"));
    if (input) {
      input.value = fill.getAttribute("data-fill-value");
      var group = input.closest("details");
      if (group) { group.open = true; }
      input.focus();
    }
  });
})();
