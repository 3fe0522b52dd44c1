/* The audit report's behaviour. Every piece of data reaches the page through textContent or
   setAttribute on elements made with createElement / createElementNS: never through innerHTML,
   so a name made of markup shows as the text it is. Text shown passes through visible():
   invisible and bidirectional control characters show as their escape ("⟨U+202E⟩"),
   by the rule of audits.cells, whose pattern the page's data carries. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var FINDINGS = DATA.findings;
  var SEVERITY_RANK = { error: 3, warning: 2, info: 1 };
  var SEVERITY_WORD = { error: "Error", warning: "Warning", info: "Info" };
  var SEVERITY_CARD = { error: "errors", warning: "warnings", info: "info" };
  var PAGE = 100;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var INVISIBLE = new RegExp(DATA.invisible, "gu");
  function visible(text) {
    return String(text).replace(INVISIBLE, function (c) {
      var hex = c.codePointAt(0).toString(16).toUpperCase();
      return "\u27e8U+" + ("000" + hex).slice(-Math.max(4, hex.length)) + "\u27e9";
    });
  }

  var state = { check: "", q: "", school: "", severity: "", sort: "severity", dir: -1,
                shown: PAGE, open: {}, review: {}, suppress: {} };
  var filtered = FINDINGS;
  var detailBlocks = {};
  var loaded = false;
  function details(f) {
    var block = Math.floor(f._order / DATA.detail_chunk);
    if (!detailBlocks[block]) {
      // The blocks follow this script in the file; until the page has read them, wait.
      if (!loaded) { return null; }
      detailBlocks[block] = JSON.parse(document.getElementById("details-" + block).textContent);
    }
    return detailBlocks[block][f._order % DATA.detail_chunk];
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) { for (var k in attrs) { node.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { node.textContent = visible(text); }
    return node;
  }
  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) { for (var k in attrs) { node.setAttribute(k, String(attrs[k])); } }
    if (text !== undefined && text !== null) { node.textContent = visible(text); }
    return node;
  }
  function schoolLabel(id) {
    var name = DATA.schools[id];
    return name ? name + " (" + id + ")" : id;
  }
  function named(id, names) { return names[id] ? names[id] + " (" + id + ")" : id; }

  /* ------------------------------------------------------------------ summary and tabs */
  function card(cls, number, label, onClick) {
    var b = el("button", { "class": "card " + cls, type: "button" });
    b.appendChild(el("span", { "class": "n" }, number));
    b.appendChild(el("span", null, label));
    b.addEventListener("click", onClick);
    return b;
  }
  function renderCards() {
    var cards = document.getElementById("cards");
    var bySev = DATA.summary.by_severity || {};
    cards.appendChild(card("total", FINDINGS.length, "findings in all", function () {
      setFilter("severity", ""); setCheck("");
    }));
    ["error", "warning", "info"].forEach(function (sev) {
      cards.appendChild(card(sev, bySev[sev] || 0, SEVERITY_CARD[sev], function () {
        setFilter("severity", sev);
      }));
    });
    DATA.checks.forEach(function (c) {
      cards.appendChild(card("check", c.count, c.code, function () { setCheck(c.code); }));
    });
  }
  function renderTabs() {
    var tabs = document.getElementById("tabs");
    tabs.textContent = "";
    [{ code: "", count: FINDINGS.length }].concat(DATA.checks).forEach(function (c) {
      var b = el("button", { type: "button", role: "tab", "data-check": c.code,
                             "aria-selected": String(state.check === c.code) },
                 (c.code || "All checks") + " (" + c.count + ")");
      b.addEventListener("click", function () { setCheck(c.code); });
      tabs.appendChild(b);
    });
    var about = document.getElementById("check-about");
    about.textContent = "";
    var spec = DATA.checks.filter(function (c) { return c.code === state.check; })[0];
    if (spec) {
      [["What it finds: ", spec.summary], ["Why it matters: ", spec.why],
       ["How to fix: ", spec.how]].forEach(function (pair) {
        if (!pair[1]) { return; }
        var p = el("p");
        p.appendChild(el("b", null, pair[0]));
        p.appendChild(document.createTextNode(visible(pair[1])));
        about.appendChild(p);
      });
    }
  }
  function renderSchoolOptions() {
    var select = document.getElementById("school-filter");
    var ids = Object.keys(DATA.summary.by_school || {}).sort(function (a, b) {
      return schoolLabel(a).localeCompare(schoolLabel(b));
    });
    ids.forEach(function (id) {
      select.appendChild(el("option", { value: id },
                            schoolLabel(id) + " (" + DATA.summary.by_school[id] + ")"));
    });
  }

  /* -------------------------------------------------------------- filter, sort, page */
  var haystacks = null;
  function haystack(i) {
    if (haystacks === null) { haystacks = new Array(FINDINGS.length); }
    var h = haystacks[i];
    if (h === undefined) {
      var f = FINDINGS[i];
      var parts = [f.id, f.title, f.username || ""];
      for (var id in f.names) { parts.push(id, f.names[id]); }
      var e = f.entities || {};
      for (var kind in e) { parts.push(e[kind].join(" ")); }
      h = haystacks[i] = parts.join("\n").toLowerCase();
    }
    return h;
  }
  var SORTERS = {
    severity: function (a, b) { return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]; },
    check: function (a, b) { return a.check < b.check ? -1 : a.check > b.check ? 1 : 0; },
    title: function (a, b) { return a.title.localeCompare(b.title); },
    school: function (a, b) {
      var x = a.school_ids[0] || "", y = b.school_ids[0] || "";
      return x < y ? -1 : x > y ? 1 : 0;
    },
    confidence: function (a, b) { return a.confidence - b.confidence; }
  };
  function applyFilters() {
    var q = state.q.toLowerCase().trim();
    var out = [];
    for (var i = 0; i < FINDINGS.length; i++) {
      var f = FINDINGS[i];
      if (state.check && f.check !== state.check) { continue; }
      if (state.severity && f.severity !== state.severity) { continue; }
      if (state.school && f.school_ids.indexOf(state.school) < 0) { continue; }
      if (q && haystack(i).indexOf(q) < 0) { continue; }
      out.push(f);
    }
    var cmp = SORTERS[state.sort], dir = state.dir;
    // Ties keep the report's own order (severity, check, id), which Array.sort keeps stable.
    out.sort(function (a, b) { return dir * cmp(a, b) || a._order - b._order; });
    filtered = out;
    state.shown = PAGE;
    renderRows();
  }
  function renderRows() {
    var body = document.getElementById("rows");
    body.textContent = "";
    var fragment = document.createDocumentFragment();
    var end = Math.min(state.shown, filtered.length);
    for (var i = 0; i < end; i++) {
      var f = filtered[i];
      fragment.appendChild(findingRow(f));
      if (state.open[f.id]) { fragment.appendChild(detailRow(f)); }
    }
    body.appendChild(fragment);
    document.getElementById("count").textContent =
      "Showing " + end + " of " + filtered.length + " finding" + (filtered.length === 1 ? "" : "s");
    document.getElementById("show-more").hidden = end >= filtered.length;
    document.querySelectorAll("th[data-sort]").forEach(function (th) {
      if (th.getAttribute("data-sort") === state.sort) {
        th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      } else { th.removeAttribute("aria-sort"); }
    });
  }
  function findingRow(f) {
    var tr = el("tr", { "class": "finding", "data-id": f.id, tabindex: "0" });
    var decision = state.review[f.id];
    if (state.open[f.id]) { tr.classList.add("open"); }
    if (decision) { tr.classList.add(decision); }
    var sev = el("td");
    sev.appendChild(el("span", { "class": "sev " + f.severity }, SEVERITY_WORD[f.severity]));
    tr.appendChild(sev);
    tr.appendChild(el("td", null, f.check));
    var title = el("td");
    title.appendChild(el("span", { "class": "title" }, f.title));
    title.appendChild(el("span", { "class": "fid" }, f.id));
    tr.appendChild(title);
    tr.appendChild(el("td", null, f.school_ids.map(schoolLabel).join("; ")));
    tr.appendChild(el("td", null, Math.round(f.confidence * 100) + "%"));
    tr.appendChild(el("td", null, !f.fixable ? "no fix to plan"
                                          : decision ? decision : "to review"));
    tr.addEventListener("click", function () { toggle(f.id); });
    tr.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(f.id); }
    });
    return tr;
  }
  function toggle(id) {
    if (state.open[id]) { delete state.open[id]; } else { state.open[id] = true; }
    renderRows();
  }

  /* ------------------------------------------------------------------------- details */
  function detailRow(f) {
    var d = details(f);
    var tr = el("tr", { "class": "detail", "data-detail-for": f.id });
    if (d === null) {
      tr.appendChild(el("td", { colspan: "6" }, "Loading details…"));
      return tr;
    }
    var td = el("td", { colspan: "6" });
    if (d.records) { td.appendChild(connectRecords.render(d.records, el)); }
    var grid = el("div", { "class": "detail-grid" });
    var left = el("div"), right = el("div");

    left.appendChild(el("h3", null, "Evidence"));
    var ev = el("table", { "class": "evidence" });
    var keys = Object.keys(d.evidence || {});
    if (!keys.length) { left.appendChild(el("p", null, "No field-by-field evidence.")); }
    keys.forEach(function (k) {
      var row = el("tr");
      row.appendChild(el("th", { scope: "row" }, k.replace(/[_-]/g, " ")));
      row.appendChild(el("td", null, d.evidence[k]));
      ev.appendChild(row);
    });
    if (keys.length) { left.appendChild(ev); }

    left.appendChild(el("h3", null, "Records"));
    var people = el("ul", { "class": "people" });
    var words = { students: "student", contacts: "contact record", staff: "staff record",
                  accounts: "account" };
    Object.keys(words).forEach(function (kind) {
      (f.entities[kind] || []).forEach(function (id) {
        people.appendChild(el("li", null, words[kind] + " " + named(id, f.names)));
      });
    });
    if (f.username) { people.appendChild(el("li", null, "username " + f.username)); }
    f.pairs.forEach(function (p) {
      people.appendChild(el("li", null, "missing link: " + named(p[0], f.names) + " & " +
                                        named(p[1], f.names)));
    });
    if (f.pairs_total > f.pairs.length) {
      var more = f.pairs_total - f.pairs.length;
      people.appendChild(el("li", null,
                            "and " + more.toLocaleString("en-US") + " more missing links"));
    }
    left.appendChild(people);

    var fix = d.fix || {};
    left.appendChild(el("h3", null, "Recommended fix" + (fix.action ? ": " + fix.action : "")));
    var steps = el("ol", { "class": "steps" });
    (fix.steps || []).forEach(function (s) {
      steps.appendChild(el("li", null, String(s).replace(/^\s*\d+[.)]\s+/, "")));
    });
    left.appendChild(steps);
    if (d.plan) {
      var review = el("div", { "class": "review" });
      var accept = el("button", { type: "button", "class": "accept" }, "Accept fix");
      var reject = el("button", { type: "button", "class": "reject" }, "Reject fix");
      if (state.review[f.id] === "accepted") { accept.classList.add("accepted"); }
      if (state.review[f.id] === "rejected") { reject.classList.add("rejected"); }
      accept.addEventListener("click", function (e) { e.stopPropagation(); decide(f.id, "accepted"); });
      reject.addEventListener("click", function (e) { e.stopPropagation(); decide(f.id, "rejected"); });
      review.appendChild(accept); review.appendChild(reject);
      if (d.plan.needs_decision) {
        review.appendChild(el("p", { "class": "hint" },
          "This fix needs a decision in the plan file before it can be applied."));
      }
      left.appendChild(review);
    }
    left.appendChild(suppressBox(f));

    right.appendChild(el("h3", null, "Household"));
    right.appendChild(drawHousehold(f, d.household));
    right.appendChild(el("p", { "class": "legend" },
      "Red outline: the records this finding is about. Solid line: contact of a student " +
      "(dashed: no portal access). Green: sibling link. Blue: account (dotted: can see). " +
      "Red dashed: a link that is missing."));
    grid.appendChild(left); grid.appendChild(right);
    td.appendChild(grid); tr.appendChild(td);
    return tr;
  }
  /* A decision the next run honours: "not a problem" for a finding, "different people" for
     a duplicate group (every pair of its records). Exported in the format of
     `connect-audit suppress` (audits/suppressions.py). */
  function suppressBox(f) {
    var box = el("div", { "class": "suppress" });
    var mark = state.suppress[f.id];
    var dup = f.check === "duplicate-contact";
    if (mark) {
      box.appendChild(el("p", { "class": "hint" }, "Suppressed on the next run: " + mark.reason));
      var undo = el("button", { type: "button", "class": "unsuppress" }, "Undo suppression");
      undo.addEventListener("click", function (e) {
        e.stopPropagation(); delete state.suppress[f.id]; renderRows(); renderReviewStatus();
      });
      box.appendChild(undo);
      return box;
    }
    var reason = el("input", { type: "text", "class": "suppress-reason",
                               placeholder: dup ? "Why these are different people" : "Why this is not a problem" });
    reason.addEventListener("click", function (e) { e.stopPropagation(); });
    reason.addEventListener("keydown", function (e) { e.stopPropagation(); });
    var button = el("button", { type: "button", "class": "suppress-button" },
                    dup ? "Different people: suppress" : "Not a problem: suppress");
    var note = el("p", { "class": "hint" });
    button.addEventListener("click", function (e) {
      e.stopPropagation();
      var by = document.getElementById("decided-by").value.trim();
      if (!reason.value.trim() || !by) {
        note.textContent = "Give a reason here and your name in \u201cDecided by\u201d first.";
        return;
      }
      state.suppress[f.id] = { reason: reason.value.trim(), by: by,
                               at: new Date().toISOString().replace(/\.\d{3}Z$/, "Z") };
      renderRows(); renderReviewStatus();
    });
    box.appendChild(reason); box.appendChild(button); box.appendChild(note);
    return box;
  }
  function suppressionEntries() {
    var out = [], at = {};
    FINDINGS.forEach(function (f) {
      var mark = state.suppress[f.id];
      if (!mark) { return; }
      details(f).suppress.forEach(function (target) {
        var entry = target.finding ? { finding: target.finding } : { pair: target.pair.slice() };
        entry.reason = mark.reason; entry.by = mark.by; entry.at = mark.at;
        var key = target.finding ? "finding:" + target.finding : "pair:" + target.pair.join("|");
        if (key in at) { out[at[key]] = entry; } else { at[key] = out.length; out.push(entry); }
      });
    });
    return out;
  }
  function exportSuppressions() {
    var doc = JSON.parse(JSON.stringify(DATA.suppressions));
    doc.suppressions = suppressionEntries();
    var blob = new Blob([JSON.stringify(doc, null, 1) + "\n"], { type: "application/json" });
    var url = URL.createObjectURL(blob);
    var a = el("a", { href: url, download: "suppressions.json" });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }
  function decide(id, decision) {
    if (state.review[id] === decision) { delete state.review[id]; }
    else { state.review[id] = decision; }
    renderRows();
    renderReviewStatus();
  }
  function renderReviewStatus() {
    var accepted = 0, rejected = 0;
    for (var id in state.review) {
      if (state.review[id] === "accepted") { accepted++; } else { rejected++; }
    }
    var suppressed = Object.keys(state.suppress).length;
    document.getElementById("review-status").textContent =
      accepted + " fix" + (accepted === 1 ? "" : "es") + " accepted, " + rejected + " rejected" +
      (suppressed ? ", " + suppressed + " suppressed." : ".");
    renderExportButton();
  }
  /* An export with nothing marked would be an empty file that looks like a failed download. */
  function renderExportButton() {
    var button = document.getElementById("export-suppressions");
    var count = Object.keys(state.suppress).length;
    button.disabled = !loaded || count === 0;
    button.title = count ? "Download suppressions.json (" + count + " marked) for connect-audit --suppressions"
                         : "Nothing to export yet: open a finding and mark it \u201cNot a problem\u201d or \u201cDifferent people\u201d first.";
    button.textContent = count ? "Export suppressions (" + count + ")" : "Export suppressions";
  }
  function downloadPlan() {
    var plan = JSON.parse(JSON.stringify(DATA.plan));
    plan.actions = [];
    FINDINGS.forEach(function (f) {
      if (state.review[f.id] === "accepted") { plan.actions.push(details(f).plan); }
    });
    var blob = new Blob([JSON.stringify(plan, null, 1) + "\n"], { type: "application/json" });
    var url = URL.createObjectURL(blob);
    var a = el("a", { href: url, download: "fix-plan.json" });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  /* ----------------------------------------------------------------- household picture */
  var COLUMN = { contact: 0, staff: 0, student: 1, account: 2 };
  var KIND_WORD = { contact: "contact record", student: "student", account: "account",
                    staff: "staff record" };
  function shorten(text, n) { text = String(text); return text.length > n ? text.slice(0, n - 1) + "…" : text; }
  function drawHousehold(f, h) {
    h = h || {};
    var nodes = h.nodes || [], edges = h.edges || [];
    var focus = {};
    ["contacts", "accounts", "staff"].forEach(function (k) {
      (f.entities[k] || []).forEach(function (id) { focus[id] = true; });
    });
    if (f.check === "unlinked-siblings") {
      (f.entities.students || []).forEach(function (id) { focus[id] = true; });
    }
    f.pairs.forEach(function (p) { focus[p[0]] = true; focus[p[1]] = true; });

    // The gap between columns holds the relationship labels, so it is wider than a label.
    var W = 180, H = 40, GAP_X = 110, GAP_Y = 18, PAD = 20;
    var rows = [0, 0, 0], at = {}, byRef = {};
    nodes.forEach(function (n) {
      var col = COLUMN[n.kind] === undefined ? 2 : COLUMN[n.kind];
      at[n.id] = { x: PAD + col * (W + GAP_X), y: PAD + rows[col] * (H + GAP_Y), node: n };
      rows[col]++;
      if (!byRef[n.ref]) { byRef[n.ref] = n.id; }
    });
    function laneY(k) { return PAD + k * (H + GAP_Y) - GAP_Y / 2; }
    var height = PAD * 2 + Math.max(1, Math.max.apply(null, rows)) * (H + GAP_Y);
    var width = PAD * 2 + 3 * W + 2 * GAP_X + 40;
    var svg = svgEl("svg", { "class": "household", width: width, height: height,
                             viewBox: "0 0 " + width + " " + height, role: "img" });
    svg.appendChild(svgEl("title", null, "Household of " + f.id));
    if (!nodes.length) {
      svg.setAttribute("height", 50);
      svg.appendChild(svgEl("text", { x: PAD, y: 30 }, "No household picture for this finding."));
      return svg;
    }
    function who(id) { var n = at[id].node; return KIND_WORD[n.kind] + " " + n.ref; }
    /* Labels go where no earlier label is: a contact with five links used to get five labels
       drawn over one another. Each is a box of about 6 px a character, 12 px tall. */
    var placed = [];
    function label(x, y, text, anchor) {
      text = shorten(text, 16);
      var w = text.length * 6 + 4, left = anchor === "start" ? x : x - w / 2;
      for (var k = 0; k < 12; k++) {
        var dy = (k % 2 ? 1 : -1) * Math.ceil(k / 2) * 12, top = y + dy - 10, clash = false;
        for (var i = 0; i < placed.length && !clash; i++) {
          var b = placed[i];
          clash = left < b.x + b.w && b.x < left + w && top < b.y + 12 && b.y < top + 12;
        }
        if (!clash) { y += dy; break; }
      }
      placed.push({ x: left, y: y - 10, w: w });
      svg.appendChild(svgEl("text", { x: x, y: y, "text-anchor": anchor || "middle",
                                      "class": "edge-label" }, text));
    }
    var pending = [];  // labels are drawn after every line, so lines never cover them
    function line(a, b, style, tip) {
      var p = at[a], q = at[b];
      if (!p || !q) { return null; }
      var x1, y1, x2, y2, d, mid;
      if (p.x === q.x) {
        // Two records in one column (siblings): an arc out to the right of the column, never
        // as far as the next column (reports/svg.py draws the same).
        x1 = p.x + W; y1 = p.y + H / 2; x2 = q.x + W; y2 = q.y + H / 2;
        var bulge = Math.min((GAP_X - 12) / 0.75, 30 + Math.abs(y2 - y1) / 4);
        d = "M" + x1 + "," + y1 + " C" + (x1 + bulge) + "," + y1 + " " + (x2 + bulge) + "," + y2 +
            " " + x2 + "," + y2;
        mid = { x: x1 + bulge * 0.75, y: (y1 + y2) / 2 };
      } else {
        var left = p.x < q.x ? p : q, right = p.x < q.x ? q : p;
        x1 = left.x + W; y1 = left.y + H / 2; x2 = right.x; y2 = right.y + H / 2;
        var half = (x1 + x2) / 2;
        if (right.x - left.x > W + GAP_X && rows[1]) {
          // Across the students' column through the gap between two rows (the one nearest
          // both ends), so the line never seems to reach a student.
          var lane = laneY(0), k, y;
          for (k = 1; k <= rows[1]; k++) {
            y = laneY(k);
            var cost = Math.abs(y - y1) + Math.abs(y - y2), was = Math.abs(lane - y1) + Math.abs(lane - y2);
            if (cost < was || (cost === was && Math.abs(y - (y1 + y2) / 2) < Math.abs(lane - (y1 + y2) / 2))) { lane = y; }
          }
          var first = x1 + GAP_X / 2, second = x2 - GAP_X / 2;
          d = "M" + x1 + "," + y1 + " H" + first + " V" + lane + " H" + second + " V" + y2 + " H" + x2;
          mid = { x: (first + second) / 2, y: lane };
        } else {
          d = "M" + x1 + "," + y1 + " C" + half + "," + y1 + " " + half + "," + y2 + " " + x2 + "," + y2;
          mid = { x: half, y: (y1 + y2) / 2 };
        }
      }
      var path = svgEl("path", { d: d, fill: "none", stroke: style.stroke,
                                 "stroke-width": style.width || 1.5,
                                 "class": "edge " + style.cls });
      if (style.dash) { path.setAttribute("stroke-dasharray", style.dash); }
      path.appendChild(svgEl("title", null, who(a) + " \u2013 " + who(b) + ": " + tip));
      svg.appendChild(path);
      return { start: { x: x1, y: y1 }, mid: mid, left: p.x <= q.x ? a : b };
    }
    /* A contact's relationship is written once, beside the contact where its lines start
       (usually the same word for each child); the legend explains the other line styles. */
    var relationships = {}, order = [];
    edges.forEach(function (e) {
      if (e.kind === "contact-of") {
        var rel = e.relationship || "";
        var drawn = line(e.source, e.target, { stroke: "#6b7785", dash: e.portal_access ? "" : "5 4",
                                               cls: "contact-of" },
                         (rel || "contact") + (e.portal_access ? ", portal access" : ", no portal access"));
        if (drawn && rel) {
          var key = drawn.left;
          if (!relationships[key]) { relationships[key] = { at: drawn.start, words: [] }; order.push(key); }
          if (relationships[key].words.indexOf(rel) < 0) { relationships[key].words.push(rel); }
        }
      } else if (e.kind === "sibling") {
        line(e.source, e.target, { stroke: "#2e7d32", width: 2, cls: "sibling" }, "sibling link");
      } else if (e.kind === "holds-account") {
        line(e.source, e.target, { stroke: "#1565c0", cls: "holds-account" }, "holds the account");
      } else if (e.kind === "can-see") {
        line(e.source, e.target, { stroke: "#1565c0", dash: "2 3", cls: "can-see" }, "can see");
      } else {
        line(e.source, e.target, { stroke: "#999", cls: "other" }, e.kind);
      }
    });
    order.forEach(function (key) {
      var r = relationships[key];
      pending.push([r.at.x + 6, r.at.y - 5, r.words.join(" / "), "start"]);
    });
    f.pairs.forEach(function (p) {
      var drawn = line(byRef[p[0]], byRef[p[1]],
                       { stroke: "#c0392b", width: 2, dash: "6 4", cls: "missing" }, "missing link");
      if (drawn) { pending.push([drawn.mid.x, drawn.mid.y - 3, "missing", "middle"]); }
    });
    pending.forEach(function (l) { label(l[0], l[1], l[2], l[3]); });
    nodes.forEach(function (n) {
      var p = at[n.id], hot = !!focus[n.ref];
      var g = svgEl("g", { "class": "node " + n.kind + (hot ? " focus" : ""),
                          "data-ref": n.ref, transform: "translate(" + p.x + "," + p.y + ")" });
      g.appendChild(svgEl("title", null, KIND_WORD[n.kind] + " " + n.ref + ": " + n.label));
      g.appendChild(svgEl("rect", { width: W, height: H, rx: n.kind === "student" ? 18 : 5,
                                    fill: n.kind === "student" ? "#eef7ee" : n.kind === "account" ? "#eaf1fb" : "#f6f3ee",
                                    stroke: hot ? "#c0392b" : "#8a96a3",
                                    "stroke-width": hot ? 3 : 1 }));
      g.appendChild(svgEl("text", { x: 10, y: 16, "class": "label" }, shorten(n.label, 23)));
      g.appendChild(svgEl("text", { x: 10, y: 31, "class": "ref" }, KIND_WORD[n.kind] + " " + n.ref));
      svg.appendChild(g);
    });
    return svg;
  }

  /* -------------------------------------------------------------------------- wiring */
  function setCheck(code) { state.check = code; renderTabs(); applyFilters(); }
  function setFilter(name, value) {
    state[name] = value;
    var id = name === "school" ? "school-filter" : name === "severity" ? "severity-filter" : null;
    if (id) { document.getElementById(id).value = value; }
    applyFilters();
  }
  FINDINGS.forEach(function (f, i) { f._order = i; });
  renderCards();
  renderTabs();
  renderSchoolOptions();
  var timer = null;
  document.getElementById("search").addEventListener("input", function (e) {
    clearTimeout(timer);
    var value = e.target.value;
    timer = setTimeout(function () { state.q = value; applyFilters(); }, 150);
  });
  document.getElementById("school-filter").addEventListener("change", function (e) {
    setFilter("school", e.target.value);
  });
  document.getElementById("severity-filter").addEventListener("change", function (e) {
    setFilter("severity", e.target.value);
  });
  document.querySelectorAll("th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-sort");
      if (state.sort === key) { state.dir = -state.dir; }
      else { state.sort = key; state.dir = key === "severity" || key === "confidence" ? -1 : 1; }
      applyFilters();
    });
  });
  document.getElementById("show-more").addEventListener("click", function () {
    state.shown += PAGE; renderRows();
  });
  document.getElementById("download-plan").addEventListener("click", downloadPlan);
  document.getElementById("export-suppressions").addEventListener("click", exportSuppressions);
  renderReviewStatus();
  applyFilters();
  var download = document.getElementById("download-plan");
  download.disabled = true;
  function whenLoaded() {
    loaded = true;
    download.disabled = false;
    renderExportButton();
    renderRows();  // any finding opened meanwhile now gets its details
    document.body.setAttribute("data-ready", "true");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenLoaded);
  } else { whenLoaded(); }
})();
