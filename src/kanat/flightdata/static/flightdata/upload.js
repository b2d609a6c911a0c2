// Upload with a progress bar (the form also works without JavaScript: a plain POST).
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var error = document.getElementById("upload-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    bar.parentNode.hidden = false;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((100 * e.loaded) / e.total);
      bar.value = pct;
      text.textContent = pct < 100 ? pct + " % sent" : "sent; reading the log…";
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = {}; }
      if (xhr.status === 200 && body.url) {
        window.location.href = body.url;
        return;
      }
      bar.parentNode.hidden = true;
      error.textContent = body.error || ("upload failed (HTTP " + xhr.status + ")");
      error.hidden = false;
    });
    xhr.addEventListener("error", function () {
      bar.parentNode.hidden = true;
      error.textContent = "the upload was interrupted; nothing was imported";
      error.hidden = false;
    });
    xhr.send(new FormData(form));
  });
})();
