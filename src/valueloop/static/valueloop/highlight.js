// Text selection -> form fields, for quoting part of a feedback item and highlighting interview notes.
// Markup: a container [data-select-source="KEY"] holds the text; fields with [data-select-start="KEY"],
// [data-select-end="KEY"] and [data-select-text="KEY"] receive the selection's offsets (in code points
// of the container's text, as the server counts them) and its text; [data-select-clear="KEY"] clears
// them; buttons with [data-select-requires="KEY"] are enabled once something is selected.
// Progressive enhancement only: without it, people paste the words into the text field instead.
(function () {
  "use strict";

  function codePoints(text) {
    return Array.from(text).length;
  }

  function fields(kind, key) {
    return document.querySelectorAll("[data-select-" + kind + "='" + key.replace(/'/g, "") + "']");
  }

  function setAll(kind, key, value) {
    fields(kind, key).forEach(function (el) {
      if ("value" in el && el.tagName !== "OUTPUT") { el.value = value; } else { el.textContent = value; }
    });
  }

  function enable(key, on) {
    fields("requires", key).forEach(function (el) { el.disabled = !on; });
  }

  function offsetIn(container, node, offset) {
    var range = document.createRange();
    range.selectNodeContents(container);
    range.setEnd(node, offset);
    return codePoints(range.toString());
  }

  function capture() {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) { return; }
    var range = selection.getRangeAt(0);
    var node = range.commonAncestorContainer;
    var element = node.nodeType === 1 ? node : node.parentElement;
    var container = element && element.closest("[data-select-source]");
    if (!container) { return; }
    var text = range.toString();
    if (!text.trim()) { return; }
    var key = container.getAttribute("data-select-source");
    var start = offsetIn(container, range.startContainer, range.startOffset);
    setAll("start", key, String(start));
    setAll("end", key, String(start + codePoints(text)));
    setAll("text", key, text);
    setAll("preview", key, "“" + (text.length > 200 ? text.slice(0, 200) + "…" : text) + "”");
    enable(key, true);
    var picker = container.closest("details");
    if (picker) { picker.open = true; }
  }

  var pending = null;
  function later() {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(capture, 120);
  }

  document.addEventListener("mouseup", later);
  document.addEventListener("touchend", later);
  document.addEventListener("keyup", function (event) {
    if (event.shiftKey || event.key === "Shift") { later(); }
  });

  document.addEventListener("click", function (event) {
    var clear = event.target.closest("[data-select-clear]");
    if (!clear) { return; }
    var key = clear.getAttribute("data-select-clear");
    ["start", "end", "text"].forEach(function (kind) { setAll(kind, key, ""); });
    setAll("preview", key, "");
    enable(key, false);
  });

  // Typing or pasting the words by hand: the offsets no longer apply; the server finds the words.
  document.addEventListener("input", function (event) {
    var key = event.target.getAttribute && event.target.getAttribute("data-select-text");
    if (!key) { return; }
    setAll("start", key, "");
    setAll("end", key, "");
    enable(key, !!event.target.value.trim());
  });
})();
