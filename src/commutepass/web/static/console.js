// Checkpoint console: keyboard-first. Typing a new ID hides the last verdict, Esc clears it,
// Alt+N toggles "no smartphone", Alt+C turns the camera scanner on or off, and the connection
// badge follows the service's /health.
//
// Camera: the device camera's frames are read with jsQR (served from /static/vendor, no CDN);
// the first code found is put in the input and checked like a typed or scanned one. Without a
// camera (or without permission) the console says so and the scanner and the keyboard still work.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var verdict = document.getElementById("verdict");
  var toggle = document.getElementById("no_smartphone");
  var form = document.getElementById("swipe-form");
  if (input) {
    input.focus();
    input.select();
    input.addEventListener("input", function () {
      if (verdict) { verdict.classList.add("hidden"); }
    });
  }

  var box = document.getElementById("camera-box");
  var button = document.getElementById("camera-start");
  var video = document.getElementById("camera");
  var status = document.getElementById("camera-status");
  var stream = null;
  var timer = null;
  var canvas = document.createElement("canvas");

  function say(key) {
    if (status && box) { status.textContent = box.dataset[key] || ""; status.dataset.state = key; }
  }

  function stopCamera() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    if (video) { video.srcObject = null; video.classList.add("hidden"); }
    if (button && box) { button.textContent = box.dataset.start; }
  }

  function readFrame() {
    if (!stream || !video || video.readyState < 2 || !video.videoWidth) { return; }
    var width = video.videoWidth, height = video.videoHeight;
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, width, height);
    var image = context.getImageData(0, 0, width, height);
    var found = window.jsQR(image.data, width, height, { inversionAttempts: "attemptBoth" });
    if (found && found.data && found.data.trim()) {
      stopCamera();
      say("read");
      input.value = found.data.trim();
      if (verdict) { verdict.classList.add("hidden"); }
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  }

  function startCamera() {
    if (typeof window.jsQR !== "function" || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("unavailable");
      return;
    }
    say("starting");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.classList.remove("hidden");
        button.textContent = box.dataset.stop;
        return video.play();
      })
      .then(function () {
        say("looking");
        timer = setInterval(readFrame, 150);
      })
      .catch(function () {
        stopCamera();
        say("unavailable");
        if (input) { input.focus(); }
      });
  }

  function toggleCamera() {
    if (stream) { stopCamera(); status.textContent = ""; if (input) { input.focus(); } } else { startCamera(); }
  }

  if (button) { button.addEventListener("click", toggleCamera); }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      if (verdict) { verdict.classList.add("hidden"); }
      if (input) { input.value = ""; input.focus(); }
    } else if (event.altKey && (event.key === "n" || event.key === "N") && toggle) {
      event.preventDefault();
      toggle.checked = !toggle.checked;
    } else if (event.altKey && (event.key === "c" || event.key === "C") && button) {
      event.preventDefault();
      toggleCamera();
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
