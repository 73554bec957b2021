// Live pages: every few seconds, fetch this page again and swap in its [data-live-region] parts
// (tabs and task list of the inbox; status, tasks and history of a case), so work that arrives, is
// taken or escalates shows without a reload. Nothing is swapped while the user is typing in one of
// them, and polling pauses while the tab is hidden. Without JavaScript the pages work as before.
// A task newly escalated and assigned to me raises a browser notification, if the user allowed it.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-every]");
  if (!root || !window.fetch || !window.DOMParser) { return; }
  var every = Math.max(1, parseInt(root.getAttribute("data-live-every"), 10) || 5) * 1000;
  var seenKey = "bpmdesk.escalated";

  function escalatedMine(doc) {
    return Array.prototype.map.call(doc.querySelectorAll("[data-escalated-mine]"), function (row) {
      return { id: row.getAttribute("data-task-id"), name: row.getAttribute("data-task-name") || "" };
    });
  }

  function seen() {
    try { return JSON.parse(sessionStorage.getItem(seenKey) || "[]"); } catch (e) { return []; }
  }

  function remember(ids) {
    try { sessionStorage.setItem(seenKey, JSON.stringify(ids.slice(-200))); } catch (e) { /* private mode */ }
  }

  function notify(tasks) {
    var known = seen();
    var fresh = tasks.filter(function (t) { return known.indexOf(t.id) < 0; });
    remember(known.concat(fresh.map(function (t) { return t.id; })));
    if (!fresh.length || !("Notification" in window) || Notification.permission !== "granted") { return; }
    fresh.forEach(function (t) {
      var note = new Notification("任务已升级，请尽快处理", { body: t.name, tag: "bpmdesk-" + t.id });
      note.onclick = function () { window.focus(); location.href = "/tasks/" + encodeURIComponent(t.id); };
    });
  }

  function swap(doc) {
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      var fresh = doc.getElementById(region.id);
      if (fresh && !region.contains(document.activeElement)) { region.replaceWith(fresh); }
    });
    document.dispatchEvent(new CustomEvent("bpmdesk:live"));
  }

  function poll() {
    if (document.hidden) { return; }
    fetch(location.href, { credentials: "same-origin", headers: { "X-Live": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        swap(doc);
        notify(escalatedMine(doc));
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  remember(seen().concat(escalatedMine(document).map(function (t) { return t.id; })));
  var button = document.getElementById("notify-enable");
  if (button && "Notification" in window && Notification.permission === "default") {
    button.hidden = false;
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.hidden = true; });
    });
  }
  setInterval(poll, every);
})();
