/* In-page QR scanner for inspectors who open the app first.
   Native BarcodeDetector where the browser has it, the vendored jsQR elsewhere. Only codes of this
   installation (same origin, path /q/<token>) are followed; anything else is reported, never opened. */
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) return;
  var video = root.querySelector("video");
  var status = document.getElementById("scanner-status");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var again = document.getElementById("start-camera");
  var detector = null;
  var stream = null;
  var done = false;

  function say(key) {
    status.textContent = root.dataset[key];
    status.dataset.state = key;
  }

  function ourCode(text) {
    try {
      var url = new URL(text, window.location.href);
      var base = new URL(root.dataset.base);
      if ((url.origin === base.origin || url.origin === window.location.origin) && /^\/q\/[A-Za-z0-9_-]{10,64}$/.test(url.pathname)) {
        return url.pathname;
      }
    } catch (e) { /* not a URL */ }
    return null;
  }

  function found(text) {
    var path = ourCode(text);
    window.scanResult = text;
    if (!path) { say("foreign"); return false; }
    done = true;
    say("found");
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    window.location.assign(path);
    return true;
  }

  function decodeFrame() {
    if (done) return Promise.resolve();
    if (video.readyState < 2 || !video.videoWidth) return Promise.resolve();
    if (detector) {
      return detector.detect(video).then(function (codes) {
        for (var i = 0; i < codes.length; i++) { if (found(codes[i].rawValue)) return; }
      });
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    var image = context.getImageData(0, 0, canvas.width, canvas.height);
    var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    if (code && code.data) found(code.data);
    return Promise.resolve();
  }

  function loop() {
    decodeFrame().then(function () { if (!done) window.requestAnimationFrame(loop); },
                       function () { if (!done) window.requestAnimationFrame(loop); });
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { say("unsupported"); return; }
    root.hidden = false;
    say("starting");
    var ready = ("BarcodeDetector" in window)
      ? window.BarcodeDetector.getSupportedFormats().then(function (formats) {
          if (formats.indexOf("qr_code") >= 0) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        }, function () {})
      : Promise.resolve();
    ready.then(function () {
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      return video.play();
    }).then(function () {
      again.hidden = true;  // the camera runs: nothing to retry
      say("scanning");
      loop();
    }).catch(function (error) {
      window.scanError = error.name;
      again.hidden = false;
      say(error.name === "NotAllowedError" || error.name === "SecurityError" ? "denied"
          : error.name === "NotFoundError" || error.name === "OverconstrainedError" ? "absent" : "failed");
    });
  }

  again.addEventListener("click", start);
  start();
})();
