// Live alerts on the admin and analyst pages: polls the alerts API (the session cookie signs the
// request) every few seconds and redraws the list; no reload, no inline script (CSP-friendly).
(function () {
  "use strict";
  var box = document.getElementById("live-alerts");
  if (!box) { return; }
  var list = document.getElementById("alerts-list");
  var updated = document.getElementById("alerts-updated");
  var status = document.getElementById("alerts-status");
  var lang = box.dataset.lang === "en" ? "en" : "zh";
  var every = parseInt(box.dataset.every || "5000", 10);

  function item(alert) {
    var li = document.createElement("li");
    li.className = "alert alert-" + alert.state;
    li.dataset.alertId = String(alert.id);
    li.dataset.rule = alert.rule;
    var text = document.createElement("span");
    text.className = "alert-message";
    text.textContent = alert.message[lang];
    li.appendChild(text);
    var since = document.createElement("small");
    since.textContent = " " + box.dataset.since + " " + new Date(alert.opened_at).toLocaleTimeString();
    li.appendChild(since);
    if (alert.state === "acknowledged") {
      var done = document.createElement("span");
      done.className = "acked";
      done.textContent = " · " + box.dataset.acked + " (" + alert.acknowledged_by + ")";
      li.appendChild(done);
    } else {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ack";
      button.textContent = box.dataset.ack;
      button.addEventListener("click", function () {
        button.disabled = true;
        fetch("/v1/alerts/" + alert.id + "/acknowledge", {
          method: "POST",
          credentials: "same-origin",
          headers: { "content-type": "application/json" },
          body: "{}"
        }).then(refresh, refresh);
      });
      li.appendChild(button);
    }
    return li;
  }

  function draw(alerts) {
    list.textContent = "";
    if (!alerts.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = box.dataset.none;
      list.appendChild(none);
    }
    alerts.forEach(function (a) { list.appendChild(item(a)); });
    status.textContent = status.textContent.split(" ")[0];
    updated.textContent = new Date().toLocaleTimeString();
    box.dataset.loaded = "true";
  }

  function refresh() {
    return fetch(box.dataset.endpoint, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(draw)
      .catch(function () { updated.textContent = box.dataset.offline; });
  }

  refresh();
  setInterval(refresh, every);
})();
