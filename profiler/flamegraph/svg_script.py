"""The inline CSS and JavaScript of the interactive SVG (no network, no libraries).

The script reads each frame's position from its ``data-d`` (depth), ``data-s`` (start) and
``data-w`` (weight) attributes and its name from the first line of its ``<title>``; the
SVG element carries ``data-pad``, ``data-inner`` (plot width) and ``data-total``.
Click a frame to zoom to it, click the root or "Reset zoom" (or press Escape) to zoom out;
the search box takes a case-insensitive regular expression and reports the matched share.
"""

from __future__ import annotations

STYLE = """
text { font-family: monospace; font-size: 11px; fill: #000; }
#title { font-size: 16px; font-weight: bold; font-family: sans-serif; }
#subtitle, #details, #matched, .legend { font-family: sans-serif; font-size: 12px; }
g.f { cursor: pointer; }
g.f text { pointer-events: none; }
g.f:hover rect { stroke: #000; stroke-width: 0.6; }
g.parent rect { opacity: 0.55; }
.btn { cursor: pointer; fill: #1a5fb4; text-decoration: underline; font-family: sans-serif;
       font-size: 12px; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var script = document.currentScript;
  var svg = (script && script.ownerSVGElement) || document.documentElement;
  var pad = +svg.getAttribute("data-pad"), inner = +svg.getAttribute("data-inner");
  var total = +svg.getAttribute("data-total");
  var details = svg.querySelector("#details"), reset = svg.querySelector("#reset");
  var matched = svg.querySelector("#matched"), search = svg.querySelector("#search");
  var idle = details.textContent;
  var frames = Array.prototype.map.call(svg.querySelectorAll("g.f"), function (g) {
    var rect = g.querySelector("rect"), title = g.querySelector("title").textContent;
    return {g: g, rect: rect, text: g.querySelector("text"), title: title,
            name: title.split("\n")[0], fill: rect.getAttribute("fill"),
            d: +g.getAttribute("data-d"), s: +g.getAttribute("data-s"),
            w: +g.getAttribute("data-w")};
  });

  function label(name, width) {
    var chars = Math.floor((width - 6) / 7);
    if (chars < 3) return "";
    return name.length <= chars ? name : name.slice(0, chars - 2) + "..";
  }

  function place(f, x, width) {
    f.rect.setAttribute("x", x.toFixed(2));
    f.rect.setAttribute("width", width.toFixed(2));
    f.text.setAttribute("x", (x + 3).toFixed(2));
    f.text.textContent = label(f.name, width);
  }

  function zoom(target) {
    var s = target ? target.s : 0, w = target ? target.w : total, d = target ? target.d : 0;
    frames.forEach(function (f) {
      var ancestor = f.d < d, visible;
      if (ancestor) {
        visible = f.s <= s && f.s + f.w >= s + w;
        if (visible) place(f, pad, inner);
      } else {
        visible = f.s >= s && f.s + f.w <= s + w;
        if (visible) place(f, pad + (f.s - s) / w * inner, f.w / w * inner);
      }
      f.g.classList.toggle("parent", ancestor && visible);
      f.g.style.display = visible ? "" : "none";
    });
    reset.style.display = target ? "" : "none";
  }

  function find(term) {
    var pattern = null;
    if (term) {
      try { pattern = new RegExp(term, "i"); }
      catch (e) { pattern = new RegExp(term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i"); }
    }
    var spans = [];
    frames.forEach(function (f) {
      var hit = pattern !== null && f.d > 0 && pattern.test(f.name);
      f.rect.setAttribute("fill", hit ? "rgb(230,0,230)" : f.fill);
      if (hit) spans.push([f.s, f.s + f.w]);
    });
    // nested matches cover the same weight: count the union of the spans
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var sum = 0, end = -1;
    spans.forEach(function (span) {
      if (span[0] >= end) { sum += span[1] - span[0]; end = span[1]; }
      else if (span[1] > end) { sum += span[1] - end; end = span[1]; }
    });
    matched.textContent = pattern ? "Matched: " + (100 * sum / total).toFixed(1) + "%" : "";
  }

  frames.forEach(function (f) {
    f.g.addEventListener("click", function () { zoom(f.d === 0 ? null : f); });
    f.g.addEventListener("mouseover", function () {
      details.textContent = f.title.replace("\n", "  ");
    });
    f.g.addEventListener("mouseout", function () { details.textContent = idle; });
  });
  reset.addEventListener("click", function () { zoom(null); });
  if (search) search.addEventListener("input", function () { find(search.value); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { zoom(null); }
    if (search && (event.ctrlKey || event.metaKey) && event.key === "f") {
      event.preventDefault(); search.focus();
    }
  });
  zoom(null);
})();
"""
