// Keyboard navigation on the search page: from the search field, ArrowDown moves into the results; ArrowDown /
// ArrowUp move between them (ArrowUp from the first goes back to the field); Enter opens the focused result (it
// is a link); Escape goes back to the field. Results are real links, so the page works without this file.
(function () {
  "use strict";
  function hits() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-search-results] a.search-hit"));
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var field = document.getElementById("search-q");
    if (!field) { return; }
    var list = hits();
    var index = list.indexOf(event.target);
    var inField = event.target === field;
    if (!inField && index < 0) { return; }
    if (event.key === "ArrowDown") {
      var next = inField ? list[0] : list[index + 1];
      if (next) { event.preventDefault(); next.focus(); next.scrollIntoView({ block: "nearest" }); }
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      var previous = index === 0 ? field : list[index - 1];
      previous.focus();
      if (previous !== field) { previous.scrollIntoView({ block: "nearest" }); }
    } else if (event.key === "Escape" && index >= 0) {
      event.preventDefault();
      field.focus();
    }
  });
})();
