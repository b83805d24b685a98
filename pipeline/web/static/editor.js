// Loa job page: the player shows the Vietnamese subtitles and the
// translation as it is being typed (text tracks built in the page from
// the editor's lines, so timing can be checked without saving); a cue's
// button seeks the player to it; "use" puts a memory match in its field;
// each field counts its longest line against the 42-character limit;
// what is typed is kept as a draft in the browser until it is submitted;
// a file upload shows its progress.
(function () {
  "use strict";
  var video = document.getElementById("player");
  var lines = document.querySelectorAll("li.line");
  var maxChars = 42;
  var seg = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

  function chars(s) {
    s = s.normalize ? s.normalize("NFC") : s;
    if (!seg) return Array.from(s).length;
    var n = 0;
    for (var it = seg.segment(s)[Symbol.iterator](), x = it.next(); !x.done; x = it.next()) n++;
    return n;
  }
  function textOf(li) {
    var t = li.querySelector(".tgt, .tgt-ro");
    if (!t) return "";
    return (t.value !== undefined ? t.value : t.textContent).trim();
  }
  function cue(li, text) {
    var Cue = window.VTTCue || window.TextTrackCue;
    return new Cue(Number(li.dataset.start) / 1000, Number(li.dataset.end) / 1000, text);
  }

  var target = null;
  if (video && video.addTextTrack && lines.length) {
    var vi = video.addTextTrack("subtitles", video.dataset.vi, "vi");
    target = video.addTextTrack("subtitles", video.dataset.target, video.dataset.lang);
    for (var i = 0; i < lines.length; i++) {
      var src = lines[i].querySelector(".src");
      if (src) vi.addCue(cue(lines[i], src.textContent.trim()));
    }
    vi.mode = "hidden";
    target.mode = "showing";
  }
  function rebuild() {
    if (!target) return;
    while (target.cues && target.cues.length) target.removeCue(target.cues[0]);
    for (var i = 0; i < lines.length; i++) {
      var t = textOf(lines[i]);
      if (t) target.addCue(cue(lines[i], t));
    }
  }
  rebuild();

  function count(area) {
    var out = area.parentNode.querySelector(".count");
    if (!out) {
      out = document.createElement("p");
      out.className = "count hint";
      out.setAttribute("aria-live", "polite");
      area.parentNode.insertBefore(out, area.nextSibling);
    }
    var parts = area.value.split("\n"), longest = 0;
    for (var i = 0; i < parts.length; i++) longest = Math.max(longest, chars(parts[i].trim()));
    out.textContent = longest + " / " + maxChars;
    out.classList.toggle("over", longest > maxChars || parts.filter(function (p) { return p.trim(); }).length > 2);
  }
  var areas = document.querySelectorAll("textarea.tgt");
  for (var a = 0; a < areas.length; a++) {
    count(areas[a]);
    areas[a].addEventListener("input", function (e) { count(e.target); rebuild(); });
  }

  // Drafts: what is typed is kept in this browser until it is submitted,
  // so a closed tab or a lost connection does not lose it.
  var editor = document.getElementById("editor");
  var key = "loa-draft:" + location.pathname;
  function values() {
    var v = {};
    for (var i = 0; i < areas.length; i++) v[areas[i].id] = areas[i].value;
    return v;
  }
  if (editor && areas.length && window.localStorage) {
    try {
      var saved = JSON.parse(localStorage.getItem(key) || "null"), changed = false;
      if (saved && !document.getElementById("job-error")) {
        for (var k in saved) {
          var f = document.getElementById(k);
          if (f && f.tagName === "TEXTAREA" && f.value !== saved[k]) { f.value = saved[k]; count(f); changed = true; }
        }
        if (changed) { rebuild(); document.getElementById("draft-restored").hidden = false; }
      }
    } catch (err) { /* a broken draft is ignored */ }
    editor.addEventListener("input", function () {
      try { localStorage.setItem(key, JSON.stringify(values())); } catch (err) { /* storage full or off */ }
    });
    editor.addEventListener("submit", function () { localStorage.removeItem(key); });
  }

  // A file upload shows its progress; the answer replaces the page as a
  // plain form post would.
  var up = document.getElementById("upload-form");
  if (up && window.XMLHttpRequest && window.FormData) {
    up.addEventListener("submit", function (e) {
      e.preventDefault();
      var bar = document.getElementById("upload-progress"), send = document.getElementById("upload-send");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", up.action);
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) bar.value = Math.round(ev.loaded * 100 / ev.total); };
      xhr.onload = function () {
        if (xhr.status === 200 && xhr.responseURL && xhr.responseURL.indexOf(up.action) < 0) {
          if (editor) localStorage.removeItem(key);
          location.href = xhr.responseURL;
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      };
      xhr.onerror = function () {
        send.disabled = false;
        document.getElementById("upload-lost").hidden = false;
      };
      bar.value = 0;
      document.getElementById("upload-box").hidden = false;
      document.getElementById("upload-lost").hidden = true;
      send.disabled = true;
      xhr.send(new FormData(up));
    });
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("button") : null;
    if (!b) return;
    if (b.classList.contains("seek") && video) {
      video.currentTime = Number(b.dataset.start) / 1000 + 0.05;
      video.play().catch(function () {});
    } else if (b.classList.contains("use")) {
      var f = document.getElementById(b.dataset.for);
      if (f) {
        f.value = b.dataset.text;
        f.dispatchEvent(new Event("input"));
        f.focus();
      }
    }
  });
})();
