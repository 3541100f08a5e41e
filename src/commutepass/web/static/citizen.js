// Citizen page: count down to the moment the NAT result stops counting.
(function () {
  "use strict";
  var clock = document.getElementById("nat-countdown");
  if (!clock) { return; }
  var left = parseInt(clock.dataset.seconds, 10);
  var started = Date.now();
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var remaining = Math.max(0, left - Math.floor((Date.now() - started) / 1000));
    var h = Math.floor(remaining / 3600);
    var m = Math.floor((remaining % 3600) / 60);
    clock.textContent = h + ":" + pad(m) + ":" + pad(remaining % 60);
  }
  tick();
  setInterval(tick, 1000);
})();
