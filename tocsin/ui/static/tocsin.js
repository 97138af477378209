// Tocsin web UI: small enhancements on top of htmx. Every page works without this file.
(function () {
  "use strict";
  // Keep what a person ticked or opened (rows, alert details) when a live update re-renders it.
  var ticked = [], opened = [];
  function ids(root, selector, value) {
    return Array.prototype.map.call(root.querySelectorAll(selector), value);
  }
  document.addEventListener("htmx:beforeSwap", function (e) {
    ticked = ids(e.detail.target, "input[name=incident]:checked", function (box) { return box.value; });
    opened = ids(e.detail.target, "details[open]", function (d) { return d.id; });
    var focused = document.activeElement;
    e.detail.target.dataset.focusId = focused && e.detail.target.contains(focused) ? focused.id : "";
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    ticked.forEach(function (id) {
      var box = document.getElementById("sel-" + id);
      if (box && !box.disabled) { box.checked = true; }
    });
    opened.forEach(function (id) {
      var details = id && document.getElementById(id);
      if (details) { details.open = true; }
    });
    var focusId = e.detail.target.dataset.focusId;
    if (focusId) {
      var again = document.getElementById(focusId);
      if (again) { again.focus(); }
    }
    tick();
  });

  // Countdowns to the next escalation and other pending actions, updated every second.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown").forEach(function (el) {
      var seconds = Math.round((Date.parse(el.getAttribute("datetime")) - now) / 1000);
      if (isNaN(seconds)) { return; }
      if (seconds <= 0) { el.textContent = "due now"; return; }
      var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
      el.textContent = "in " + (h ? h + " h " : "") + (h || m ? m + " min " : "") + s + " s";
    });
  }
  setInterval(tick, 1000);

  // Copy buttons (hidden without this file: the readonly field beside each can be copied by hand).
  function copyButtons() {
    document.querySelectorAll("button.copy-button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = document.getElementById(button.getAttribute("data-copy"));
        if (!field) { return; }
        field.select();
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done, function () {}); }
        else if (document.execCommand("copy")) { done(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", copyButtons);
  document.addEventListener("DOMContentLoaded", tick);
})();
