// Loa upload page: drag and drop, live progress with remaining time,
// field errors next to each field, retry after a lost connection.
// The form is posted to the API (POST /api/segments) with the session
// cookie; fields first, then the subtitles, then the media file.
(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }
  var M = JSON.parse(document.getElementById("loa-msgs").textContent);
  var form = document.getElementById("upload");
  var fileInput = document.getElementById("f-file");
  var drop = document.getElementById("drop");
  var chosen = document.getElementById("file-chosen");
  var box = document.getElementById("progress-box");
  var bar = document.getElementById("progress");
  var text = document.getElementById("progress-text");
  var formErr = document.getElementById("err-form");
  var send = document.getElementById("send");
  var retry = document.getElementById("retry");
  var cancel = document.getElementById("cancel");
  var max = Number(form.dataset.max || 0);
  var xhr = null;
  var file = null;

  function t(key, args) {
    var s = M[key] || key;
    for (var k in args || {}) s = s.split("{" + k + "}").join(args[k]);
    return s;
  }
  function size(n) {
    if (n >= 1073741824) return (n / 1073741824).toFixed(1) + " GiB";
    if (n >= 1048576) return (n / 1048576).toFixed(1) + " MiB";
    if (n >= 1024) return Math.round(n / 1024) + " KiB";
    return n + " B";
  }
  function eta(sec) {
    sec = Math.max(1, Math.round(sec));
    if (sec < 60) return t("js_sec", { n: sec });
    if (sec < 3600) return t("js_min", { n: Math.round(sec / 60) });
    return t("js_hour", { n: Math.floor(sec / 3600), m: Math.round((sec % 3600) / 60) });
  }
  function fieldOf(name) {
    return document.getElementById("f-" + name) || form.querySelector("[name='" + name + "']");
  }
  function setErr(name, msg) {
    var el = document.getElementById("err-" + name);
    var input = fieldOf(name);
    if (!el) { showForm(msg); return; }
    el.textContent = msg || "";
    if (input) {
      if (msg) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    }
  }
  function clearErrs() {
    var errs = form.querySelectorAll(".ferr");
    for (var i = 0; i < errs.length; i++) errs[i].textContent = "";
    var inv = form.querySelectorAll("[aria-invalid]");
    for (var j = 0; j < inv.length; j++) inv[j].removeAttribute("aria-invalid");
    formErr.hidden = true;
    formErr.textContent = "";
  }
  function showForm(msg) {
    formErr.textContent = msg;
    formErr.hidden = false;
  }
  function pick(f) {
    file = f || null;
    chosen.textContent = file ? t("js_chosen", { name: file.name, size: size(file.size) }) : "";
    setErr("file", "");
  }

  fileInput.addEventListener("change", function () { pick(fileInput.files[0]); });
  ["dragenter", "dragover"].forEach(function (ev) {
    drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    drop.addEventListener(ev, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length) return;
    try { fileInput.files = files; } catch (err) { /* older browsers: keep our own copy */ }
    pick(files[0]);
  });

  function validate() {
    var bad = [];
    if (!byId("f-title").value.trim()) bad.push(["title", t("js_need_title")]);
    if (!form.querySelector("input[name=kind]:checked")) bad.push(["kind", t("js_need_kind")]);
    if (!byId("f-topic").value) bad.push(["topic", t("js_need_topic")]);
    if (!form.querySelector("input[name=languages]:checked")) bad.push(["languages", t("js_need_languages")]);
    var from = byId("f-air_from").value, until = byId("f-air_until").value;
    if (from && until && until < from) bad.push(["air_until", t("js_bad_window")]);
    if (!file) bad.push(["file", t("js_need_file")]);
    else if (max && file.size > max) bad.push(["file", t("js_too_big", { max: size(max) })]);
    bad.forEach(function (b) { setErr(b[0], b[1]); });
    if (bad.length) {
      var first = fieldOf(bad[0][0]);
      if (first && first.focus) first.focus();
      return false;
    }
    return true;
  }

  function body() {
    var fd = new FormData();
    fd.append("title", byId("f-title").value);
    fd.append("kind", form.querySelector("input[name=kind]:checked").value);
    fd.append("topic", byId("f-topic").value);
    var prio = form.querySelector("input[name=priority]:checked");
    if (prio) fd.append("priority", prio.value);
    if (byId("f-air_from").value) fd.append("air_from", byId("f-air_from").value);
    if (byId("f-air_until").value) fd.append("air_until", byId("f-air_until").value);
    var langs = form.querySelectorAll("input[name=languages]:checked");
    for (var i = 0; i < langs.length; i++) fd.append("languages", langs[i].value);
    var subs = document.getElementById("f-subtitles").files[0];
    if (subs) fd.append("subtitles", subs, subs.name);
    fd.append("size", String(file.size));
    fd.append("file", file, file.name);
    return fd;
  }

  function busy(on) {
    send.hidden = on;
    cancel.hidden = !on;
    retry.hidden = true;
    var els = form.querySelectorAll("input,select");
    for (var i = 0; i < els.length; i++) els[i].disabled = on;
  }

  // finding says one finding of a refusal in the page's language: its
  // text (fm_KEY) with its arguments for the %s in order, after its line;
  // the API's English message only for a finding the page has no text for.
  function finding(f) {
    var s = f.key && M["fm_" + f.key];
    if (s) {
      var i = 0, args = f.args || [];
      s = s.replace(/%s/g, function () { return i < args.length ? args[i++] : ""; });
    } else {
      s = f.message || "";
    }
    return (f.line ? t("js_finding_line", { n: f.line }) : "") + s;
  }
  function refused(status, raw) {
    var e = null;
    try { e = JSON.parse(raw).error; } catch (err) { /* not JSON: a proxy's page */ }
    var code = e && e.code;
    var detail = e && e.message ? e.message : "";
    var own = document.documentElement.lang === "en";
    var found = e && e.findings && e.findings.length ? e.findings.map(finding) : null;
    if (code === "invalid" && e.field) {
      var msg = own ? detail : t("js_fe_" + e.field) + (detail ? " " + t("js_detail") + detail : "");
      if (!M["js_fe_" + e.field]) msg = detail;
      if (found) msg = (M["js_fe_" + e.field] ? t("js_fe_" + e.field) + "\n" : "") + found.join("\n");
      setErr(e.field, msg);
      showForm(t("js_fix_fields"));
      var f = fieldOf(e.field);
      if (f && f.focus) f.focus();
      return;
    }
    var key = { too_large: "js_err_too_large", unavailable: "js_err_unavailable", unauthorized: "js_err_unauthorized", forbidden: "js_err_forbidden" }[code] || (status >= 500 ? "js_err_unavailable" : "js_err_internal");
    if (code === "too_large") { setErr("file", t(key) + (detail ? " " + t("js_detail") + detail : "")); showForm(t("js_fix_fields")); return; }
    showForm(t(key) + (detail && !own && code !== "internal" ? " " + t("js_detail") + detail : (own && detail ? " " + detail : "")));
    if (code === "unavailable" || status >= 500) retry.hidden = false;
  }

  function upload() {
    clearErrs();
    if (!validate()) return;
    busy(true);
    box.hidden = false;
    bar.value = 0;
    text.textContent = "";
    var started = Date.now(), samples = [];
    xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/segments");
    xhr.responseType = "text";
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      var now = Date.now();
      samples.push([now, e.loaded]);
      while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
      var dt = (now - samples[0][0]) / 1000, db = e.loaded - samples[0][1];
      var speed = dt > 0.2 ? db / dt : e.loaded / Math.max(0.001, (now - started) / 1000);
      bar.value = Math.floor((e.loaded / e.total) * 100);
      var line = t("js_progress", { done: size(e.loaded), total: size(e.total), speed: size(Math.round(speed)) });
      var left = speed > 0 ? (e.total - e.loaded) / speed : 0;
      if (left >= 3 && e.loaded < e.total) line += " · " + t("js_eta", { t: eta(left) });
      text.textContent = line;
    };
    xhr.upload.onload = function () {
      bar.value = 100;
      text.textContent = t("js_checking");
    };
    xhr.onload = function () {
      busy(false);
      if (xhr.status === 200 || xhr.status === 201) {
        var seg = JSON.parse(xhr.responseText);
        location.assign("/producer/segments/" + encodeURIComponent(seg.id) + "?done=" + (seg.duplicate ? "duplicate" : "uploaded"));
        return;
      }
      box.hidden = true;
      refused(xhr.status, xhr.responseText);
    };
    xhr.onerror = function () {
      busy(false);
      text.textContent = "";
      showForm(t("js_lost"));
      retry.hidden = false;
      retry.focus();
    };
    xhr.onabort = function () {
      busy(false);
      box.hidden = true;
      showForm(t("js_cancelled"));
    };
    xhr.send(body());
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); upload(); });
  retry.addEventListener("click", upload);
  cancel.addEventListener("click", function () { if (xhr) xhr.abort(); });
})();
