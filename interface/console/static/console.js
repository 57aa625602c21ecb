// Live pages: when the server says the page's data changed, fetch the page again
// and swap each part marked data-live-part, unless the moderator is typing in it.
(function () {
  "use strict";
  var source = document.body.getAttribute("data-live");
  if (!source || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var busy = false;
  var pending = null;

  function edited(part) {
    if (!part.hasAttribute("data-keep-when-edited")) { return false; }
    if (part.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    var fields = part.querySelectorAll("textarea, input[type=text], input[type=datetime-local]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue) { return true; }
    }
    return false;
  }

  function refresh(event) {
    if (busy) { pending = event; return; }
    busy = true;
    var url = new URL(window.location.href);
    var wanted = {};
    try { wanted = JSON.parse(event.data || "{}"); } catch (ignored) { wanted = {}; }
    Object.keys(wanted).forEach(function (name) { url.searchParams.set(name, wanted[name]); });
    fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var kept = 0;
        document.querySelectorAll("[data-live-part]").forEach(function (part) {
          var next = part.id && fresh.getElementById(part.id);
          if (!next) { return; }
          if (edited(part)) { kept++; return; }
          part.replaceWith(next);
        });
        if (status) {
          status.textContent = "Updated " + new Date().toLocaleTimeString() +
            (kept ? " (reload to see the new actions: you are typing)" : "");
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (pending) { var next = pending; pending = null; refresh(next); }
      });
  }

  var events = new EventSource(source);
  events.addEventListener("changed", refresh);
})();
