// The feedback inbox: keyboard triage and bulk selection. Loaded only by feedback/inbox.html;
// everything here is an enhancement of plain forms and links (the page works without it).
//   j / k  next / previous item        x  select the item         o, Enter  open it
//   t      triage (selection or item)  e  archive (selection or item)
//   /      search                      ?  shortcut help           Esc  leave search / close help
(function () {
  "use strict";
  if (window.valueloopInbox) { return; }
  window.valueloopInbox = true;

  var current = -1;
  var restoreIndex = null;

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-row]")); }

  function typingIn(target) {
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function setCurrent(index, focus) {
    var list = rows();
    if (!list.length) { current = -1; return; }
    index = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (row, i) {
      row.classList.toggle("is-current", i === index);
      if (i === index) { row.setAttribute("aria-current", "true"); } else { row.removeAttribute("aria-current"); }
    });
    current = index;
    var row = list[index];
    row.scrollIntoView({ block: "nearest" });
    if (focus !== false) {
      var link = row.querySelector("[data-row-link]");
      if (link) { link.focus({ preventScroll: true }); }
    }
  }

  function checks() { return Array.prototype.slice.call(document.querySelectorAll("[data-row-check]")); }

  function updateCount() {
    var label = document.querySelector("[data-selected-count]");
    var all = document.querySelector("[data-select-all]");
    var boxes = checks();
    var n = boxes.filter(function (box) { return box.checked; }).length;
    if (label) { label.textContent = n ? n + " selected" : "Select all"; }
    if (all) {
      all.checked = n > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
    rows().forEach(function (row) {
      var box = row.querySelector("[data-row-check]");
      row.classList.toggle("is-selected", !!(box && box.checked));
    });
  }

  function toggleCurrent() {
    var row = rows()[current];
    var box = row && row.querySelector("[data-row-check]");
    if (box) { box.checked = !box.checked; updateCount(); }
  }

  function act(shortcut) {
    var form = document.querySelector("[data-bulk-form]");
    var button = form && form.querySelector("[data-shortcut='" + shortcut + "']");
    if (!button) { return; }
    if (!checks().some(function (box) { return box.checked; })) {
      var row = rows()[current];
      var box = row && row.querySelector("[data-row-check]");
      if (!box) { return; }
      box.checked = true;
    }
    restoreIndex = current < 0 ? 0 : current;
    button.click(); // a real click: htmx (and a plain form post) send the button's action
  }

  function openHelp() {
    var dialog = document.getElementById("inbox-help");
    if (dialog && !dialog.open) {
      if (dialog.showModal) { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    }
  }

  function focusSearch() {
    var search = document.getElementById("inbox-q");
    if (!search) { return false; }
    var panel = search.closest("details");
    if (panel && !panel.open) { panel.open = true; }
    search.focus();
    if (search.select) { search.select(); }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var dialog = document.getElementById("inbox-help");
    if (dialog && dialog.open) { return; } // the dialog handles Esc itself
    if (typingIn(event.target)) {
      if (event.key === "Escape" && event.target.id === "inbox-q") {
        event.preventDefault(); // keep the query: a search field would clear itself
        event.target.blur();
        setCurrent(current < 0 ? 0 : current);
      }
      return;
    }
    switch (event.key) {
      case "j": event.preventDefault(); setCurrent(current + 1); break;
      case "k": event.preventDefault(); setCurrent(current < 0 ? 0 : current - 1); break;
      case "x": if (current >= 0) { event.preventDefault(); toggleCurrent(); } break;
      case "o":
        if (current >= 0) {
          var link = rows()[current].querySelector("[data-row-link]");
          if (link) { event.preventDefault(); window.location.href = link.href; }
        }
        break;
      case "t": event.preventDefault(); act("t"); break;
      case "e": event.preventDefault(); act("e"); break;
      case "/": if (focusSearch()) { event.preventDefault(); event.stopImmediatePropagation(); } break;
      case "?": event.preventDefault(); openHelp(); break;
      default: break;
    }
  }, true);

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-inbox-help]")) { openHelp(); return; }
    var row = event.target.closest("[data-row]");
    if (row) { setCurrent(rows().indexOf(row), false); }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      checks().forEach(function (box) { box.checked = event.target.checked; });
      updateCount();
    } else if (event.target.matches("[data-row-check]")) {
      updateCount();
    }
  });

  document.addEventListener("submit", function (event) {
    // "Save view" saves the filters as they are now, also after they changed in place.
    if (!event.target.matches("[data-save-view]")) { return; }
    var filters = document.getElementById("inbox-filters");
    var query = event.target.querySelector("input[name=query]");
    if (!filters || !query) { return; }
    var params = new URLSearchParams();
    new FormData(filters).forEach(function (value, key) { if (value) { params.append(key, value); } });
    var status = new URLSearchParams(window.location.search).get("status");
    if (status && !params.has("status")) { params.set("status", status); }
    query.value = params.toString();
  });

  document.body.addEventListener("htmx:configRequest", function (event) {
    // Filters left empty stay out of the request, so the pushed URL shows only what is set.
    if (!event.detail || !event.detail.elt || event.detail.elt.id !== "inbox-filters") { return; }
    var params = event.detail.parameters;
    var empty = [];
    if (params && typeof params.forEach === "function" && typeof params.delete === "function") {
      params.forEach(function (value, key) { if (value === "") { empty.push(key); } });
      empty.forEach(function (key) { params.delete(key); });
    } else if (params) {
      Object.keys(params).forEach(function (key) { if (params[key] === "") { delete params[key]; } });
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail || !event.detail.target || event.detail.target.id !== "inbox-results") { return; }
    var more = document.querySelector("[data-bulk-more]");
    if (more && window.matchMedia && window.matchMedia("(max-width: 1000px)").matches) { more.open = false; }
    updateCount();
    if (restoreIndex !== null) {
      var index = restoreIndex;
      restoreIndex = null;
      if (rows().length) { setCurrent(index); }
    } else {
      current = -1;
    }
  });

  function init() {
    // On a phone the filter panel starts closed: the list comes first.
    var panel = document.querySelector("[data-filters-panel]");
    var narrow = window.matchMedia && window.matchMedia("(max-width: 1000px)").matches;
    if (panel && narrow) { panel.open = false; }
    var more = document.querySelector("[data-bulk-more]");
    if (more && narrow) { more.open = false; }
    updateCount();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
