// Loa job page: the player shows the Vietnamese subtitles and the
// translation as it is being typed (text tracks built in the page from
// the editor's lines, so timing can be checked without saving); a cue's
// button seeks the player to it; "use" puts a memory match in its field;
// each field counts its longest line against the 42-character limit.
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
