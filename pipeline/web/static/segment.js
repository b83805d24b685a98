// Loa segment page: while the segment is being processed, ask the API
// every few seconds how far it is, and show the page again when the
// state or the step changes.
(function () {
  "use strict";
  var st = document.getElementById("state");
  if (!st || st.dataset.done === "true") return;
  var bar = document.getElementById("proc-progress");
  var wait = 2000;
  var stop = false;
  function poll() {
    fetch("/api/segments/" + encodeURIComponent(st.dataset.id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (seg) {
        if (!seg) { wait = Math.min(wait * 2, 30000); return; }
        if (seg.state !== st.dataset.state || (seg.process_step || "") !== st.dataset.step) {
          // A producer already filling in the emergency form while the
          // segment was processing keeps what was typed: the page says
          // it can be sent now instead of reloading.
          var ew = document.getElementById("emergency-wait");
          var reason = document.getElementById("e-reason");
          if (ew && reason && reason.value && seg.variants && seg.variants.length) {
            ew.textContent = ew.dataset.ready;
            stop = true;
            return;
          }
          location.reload();
          return;
        }
        if (bar) bar.value = Math.round((seg.progress || 0) * 100);
      })
      .catch(function () { wait = Math.min(wait * 2, 30000); })
      .then(function () { if (!stop) setTimeout(poll, wait); });
  }
  setTimeout(poll, wait);
})();
