// Checkpoint console: keyboard-first. Typing a new ID hides the last verdict, Esc clears it,
// Alt+N toggles "no smartphone", and the connection badge follows the service's /health.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var verdict = document.getElementById("verdict");
  var toggle = document.getElementById("no_smartphone");
  if (input) {
    input.focus();
    input.select();
    input.addEventListener("input", function () {
      if (verdict) { verdict.classList.add("hidden"); }
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      if (verdict) { verdict.classList.add("hidden"); }
      if (input) { input.value = ""; input.focus(); }
    } else if (event.altKey && (event.key === "n" || event.key === "N") && toggle) {
      event.preventDefault();
      toggle.checked = !toggle.checked;
    }
  });
  var badge = document.getElementById("connection");
  function probe() {
    if (!badge) { return; }
    fetch("/health", { cache: "no-store" }).then(function (response) {
      return response.ok;
    }).catch(function () { return false; }).then(function (ok) {
      badge.classList.toggle("online", ok);
      badge.classList.toggle("offline", !ok);
      badge.textContent = ok ? badge.dataset.online : badge.dataset.offline;
    });
  }
  probe();
  setInterval(probe, 5000);
})();
