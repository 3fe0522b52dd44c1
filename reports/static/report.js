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

  var state = { check: "", q: "", school: "", severity: "", confidence: "", cause: "",
                decision: "", sort: "severity", dir: -1, shown: PAGE, open: {},
                review: {}, decided: {}, rename: {}, renameDraft: {}, suppress: {}, reviewer: "" };
  var BY_ID = {};
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
  /* Bands on the finding's own confidence (the table shows it rounded). */
  function band(confidence) {
    return confidence >= 0.99 ? "high" : confidence >= 0.9 ? "mid" : "low";
  }
  function reviewOf(f) { return state.review[f.id] || "open"; }
  function applyFilters() {
    var q = state.q.toLowerCase().trim();
    var out = [];
    for (var i = 0; i < FINDINGS.length; i++) {
      var f = FINDINGS[i];
      if (state.check && f.check !== state.check) { continue; }
      if (state.severity && f.severity !== state.severity) { continue; }
      if (state.school && f.school_ids.indexOf(state.school) < 0) { continue; }
      if (state.confidence && band(f.confidence) !== state.confidence) { continue; }
      if (state.cause && (f.cause || "") !== state.cause) { continue; }
      if (state.decision && (!f.fixable || reviewOf(f) !== state.decision)) { continue; }
      if (q && haystack(i).indexOf(q) < 0) { continue; }
      out.push(f);
    }
    var cmp = SORTERS[state.sort], dir = state.dir;
    // Ties keep the report's own order (severity, check, id), which Array.sort keeps stable.
    out.sort(function (a, b) { return dir * cmp(a, b) || a._order - b._order; });
    filtered = out;
    state.shown = PAGE;
    renderRows();
    renderBulkButtons();
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
                                          : decision ? decision + (state.rename[f.id] ? " (rename set)" : "")
                                          : "to review"));
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
      if (state.decided[f.id] && state.decided[f.id].by) {
        review.appendChild(el("span", { "class": "hint decided" }, " " + state.review[f.id] + " by " +
                              state.decided[f.id].by + ", " + state.decided[f.id].at));
      }
      if (d.plan.action === "rename-username" && f.cause && f.cause === RULES.one_person_cause) {
        // Its own steps say not to rename: merging the two records resolves it.
        review.appendChild(el("p", { "class": "hint" },
          "Two records of one person hold this username: merging them (the duplicate-contact " +
          "finding) resolves it. No rename to decide here."));
      } else if (d.plan.action === "rename-username") {
        review.appendChild(renameBox(f, d.plan));
      } else if (d.plan.needs_decision) {
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
        e.stopPropagation(); delete state.suppress[f.id]; saveReview(); renderRows(); renderReviewStatus();
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
                               at: nowIso() };
      saveReview(); renderRows(); renderReviewStatus();
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
  /* ------------------------------------------------------------------------- review */
  function nowIso() { return new Date().toISOString().replace(/\.\d{3}Z$/, "Z"); }
  function note(text, problem) {
    var p = document.getElementById("review-note");
    p.textContent = visible(text);
    p.hidden = !text;
    p.classList.toggle("problem", !!problem);
  }
  /* The reviewer's name goes into the plan with each decision: asked for at the first one,
     then kept with the decisions. */
  function needReviewer() {
    if (state.reviewer) { return false; }
    var input = document.getElementById("decided-by");
    input.classList.add("ask");
    input.focus();
    note("Type your name in \u201cReviewer\u201d first: the plan records who made each decision.", true);
    return true;
  }
  function setDecision(id, decision, at, by) {
    if (decision) {
      state.review[id] = decision;
      state.decided[id] = { at: at || nowIso(), by: by === undefined ? state.reviewer : by };
    } else {
      delete state.review[id];
      delete state.decided[id];
    }
  }
  function decide(id, decision) {
    if (needReviewer()) { return; }
    setDecision(id, state.review[id] === decision ? null : decision);
    saveReview();
    renderRows();
    renderReviewStatus();
  }
  function counts() {
    var accepted = 0, rejected = 0;
    for (var id in state.review) {
      if (state.review[id] === "accepted") { accepted++; } else { rejected++; }
    }
    return { accepted: accepted, rejected: rejected };
  }
  function renderReviewStatus() {
    var c = counts();
    var suppressed = Object.keys(state.suppress).length;
    document.getElementById("review-status").textContent =
      c.accepted + " fix" + (c.accepted === 1 ? "" : "es") + " accepted, " + c.rejected + " rejected" +
      (suppressed ? ", " + suppressed + " suppressed." : ".");
    renderExportButton();
    renderDownloadButton();
    renderBulkButtons();
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
  /* Likewise a plan with no decision in it: the button says why it cannot be used yet. */
  function renderDownloadButton() {
    var button = document.getElementById("download-plan");
    var c = counts();
    button.disabled = !loaded || c.accepted + c.rejected === 0;
    button.title = !loaded ? "The page is still reading its findings."
      : c.accepted + c.rejected === 0 ? "Nothing to download yet: accept or reject a fix first."
      : "Download fix-plan.json: " + c.accepted + " accepted, " + c.rejected + " rejected.";
    button.textContent = c.accepted + c.rejected ? "Download fix plan (" + c.accepted + ")" : "Download fix plan";
    var reason = document.getElementById("download-reason");
    reason.textContent = button.disabled ? button.title : "";
    reason.hidden = !button.disabled;
  }
  function bulkTargets() {
    return filtered.filter(function (f) { return f.fixable; });
  }
  function renderBulkButtons() {
    var targets = bulkTargets().length;
    ["accept-shown", "reject-shown"].forEach(function (id) {
      var button = document.getElementById(id);
      if (!button) { return; }
      button.disabled = !loaded || targets === 0;
      button.textContent = (id === "accept-shown" ? "Accept" : "Reject") + " all shown (" + targets + ")";
      button.title = targets ? "Every finding the filters show, not only the rows on screen"
                             : "No finding the filters show has a fix to plan.";
    });
  }
  /* One decision for every finding the filters show (all of them, not only the rows drawn):
     the state changes in one pass and the table is drawn once. */
  function decideShown(decision) {
    if (needReviewer()) { return; }
    var targets = bulkTargets();
    if (!targets.length) { return; }
    var changing = 0, undecided = 0;
    targets.forEach(function (f) {
      var was = state.review[f.id];
      if (was && was !== decision) { changing++; }
      if (decision === "accepted" && !state.rename[f.id]) {
        var d = details(f);
        if (d && d.plan && d.plan.needs_decision) { undecided++; }
      }
    });
    var word = decision === "accepted" ? "Accept" : "Reject";
    var question = word + " the fixes of all " + targets.length + " finding" +
      (targets.length === 1 ? "" : "s") + " the filters show (not only the rows on screen)?";
    if (changing) { question += "\n" + changing + " of them already decided the other way will change."; }
    if (undecided) {
      question += "\n" + undecided + " of them need a person's decision (a rename's new value, or " +
        "confirming two records are one person): fix apply skips those until it is made.";
    }
    if (!window.confirm(question)) { return; }
    var at = nowIso();
    targets.forEach(function (f) {
      if (state.review[f.id] !== decision) { setDecision(f.id, decision, at); }
    });
    saveReview();
    note(word + "ed " + targets.length + " fix" + (targets.length === 1 ? "" : "es") + ".");
    renderRows();
    renderReviewStatus();
  }

  /* A rename decision: which holder of the clashing username changes, and to what; checked as
     far as this page can (the rules of audits/usernames.py and fixes/preconditions.py). */
  var RULES = DATA.usernames || { pattern: ".+@.+", placeholders: [], placeholder_locals: [], known: [] };
  var USERNAME_RE = new RegExp("^(?:" + RULES.pattern + ")$");
  function asSet(list) { var out = {}; list.forEach(function (v) { out[v] = true; }); return out; }
  var PLACEHOLDERS = asSet(RULES.placeholders), PLACEHOLDER_LOCALS = asSet(RULES.placeholder_locals);
  var KNOWN = asSet(RULES.known);
  var TABLE_WORD = { contacts: "contact record", accounts: "account", staff: "staff record" };
  function usernameProblem(value) {
    var text = String(value || "").trim().toLowerCase();
    if (!text) { return "no new value typed"; }
    if (PLACEHOLDERS[text]) { return "not an email: " + text; }
    if (/\s/.test(text)) { return "contains a space"; }
    var parts = text.split("@");
    if (parts.length === 1) { return "malformed: no @"; }
    if (parts.length > 2) { return "malformed: more than one @"; }
    if (!parts[0]) { return "malformed: nothing before the @"; }
    if (!parts[1]) { return "malformed: missing domain"; }
    if (parts[1].indexOf(".") < 0) { return "malformed: domain has no dot"; }
    if (PLACEHOLDER_LOCALS[parts[0]]) { return "a placeholder, not a personal email"; }
    if (text.length > 320 || !USERNAME_RE.test(text)) { return "malformed: not a valid email address"; }
    return null;
  }
  function optionKey(o) { return [o.table, o.key, o.column].join("\u0000"); }
  function renameSlots(plan) { return [plan.decision || {}].concat(plan.more_decisions || []); }
  /* What is wrong with the decisions ``chosen`` for finding ``f``'s rename ``plan``. */
  function renameProblems(f, plan, chosen) {
    var problems = [], seen = {}, values = {};
    var clash = String(plan.username || "").trim().toLowerCase();
    var options = asSet((plan.options || []).map(optionKey));
    for (var other in state.rename) {
      if (other === f.id) { continue; }
      state.rename[other].forEach(function (d) { values[String(d.new_value).toLowerCase()] = other; });
    }
    chosen.forEach(function (d, i) {
      var where = chosen.length > 1 ? "Change " + (i + 1) + ": " : "";
      if (!d.table || !options[optionKey(d)]) { problems.push(where + "choose which record changes"); return; }
      if (seen[optionKey(d)]) { problems.push(where + "that record is already chosen above"); }
      seen[optionKey(d)] = true;
      var value = String(d.new_value || "").trim().toLowerCase();
      var why = usernameProblem(value);
      if (why) { problems.push(where + why); return; }
      if (value === clash) { problems.push(where + "the new value is the clashing username itself"); }
      else if (KNOWN[value]) { problems.push(where + value + " is already a username or email this report shows: it would make another clash"); }
      else if (values[value]) { problems.push(where + value + " is already the new value of " + values[value]); }
      values[value] = f.id;
    });
    return problems;
  }
  function renameBox(f, plan) {
    var slots = renameSlots(plan);
    var options = plan.options || [];
    var current = state.renameDraft[f.id] || state.rename[f.id] || slots.map(function (s) {
      return { table: s.table, key: s.key, column: s.column, new_value: s.new_value || "" };
    });
    var box = el("fieldset", { "class": "rename" });
    box.appendChild(el("legend", null, "Rename decision for " + plan.username));
    var set = state.rename[f.id];
    if (set) {
      box.appendChild(el("p", { "class": "set" }, "Decided: " + set.map(function (d) {
        return TABLE_WORD[d.table] + " " + d.key + " " + d.column + " \u2192 " + d.new_value;
      }).join("; ")));
    }
    var radios = [], inputs = [];
    slots.forEach(function (slot, i) {
      var group = el("div", { "class": "slot" });
      group.appendChild(el("p", null, slots.length > 1
        ? "Change " + (i + 1) + " of " + slots.length + " (every holder but one must change): which record?"
        : "Which record changes?"));
      radios.push([]);
      options.forEach(function (o, k) {
        var label = el("label");
        var radio = el("input", { type: "radio", name: "rename-" + f._order + "-" + i,
                                  value: String(k), "class": "rename-option" });
        radio.checked = current[i] && optionKey(o) === optionKey(current[i]);
        radio.addEventListener("change", draft);
        radios[i].push(radio);
        label.appendChild(radio);
        label.appendChild(document.createTextNode(" " + visible(
          TABLE_WORD[o.table] + " " + o.key + ", its " + o.column + " (now " + o.before + "): " + o.why)));
        group.appendChild(label);
      });
      var label = el("label", null, "New value: ");
      var input = el("input", { type: "text", "class": "rename-value", maxlength: "320",
                                autocomplete: "off", placeholder: "the new username (an email)" });
      input.value = (current[i] && current[i].new_value) || "";
      input.addEventListener("input", draft);
      inputs.push(input);
      label.appendChild(input);
      group.appendChild(label);
      box.appendChild(group);
    });
    function chosen() {
      return slots.map(function (slot, i) {
        var k = -1;
        radios[i].forEach(function (r, j) { if (r.checked) { k = j; } });
        var o = k >= 0 ? options[k] : {};
        return { table: o.table || "", key: o.key || "", column: o.column || "",
                 new_value: inputs[i].value.trim() };
      });
    }
    function draft() { state.renameDraft[f.id] = chosen(); }
    var problem = el("p", { "class": "problem", role: "alert" });
    var button = el("button", { type: "button", "class": "set-rename" }, "Set rename and accept");
    button.addEventListener("click", function (e) {
      e.stopPropagation();
      if (needReviewer()) { return; }
      var decisions = chosen();
      var problems = renameProblems(f, plan, decisions);
      if (problems.length) { problem.textContent = visible(problems.join("; ")); return; }
      state.rename[f.id] = decisions;
      delete state.renameDraft[f.id];
      setDecision(f.id, "accepted");
      saveReview();
      renderRows();
      renderReviewStatus();
    });
    box.appendChild(button);
    if (set) {
      var clear = el("button", { type: "button", "class": "clear-rename" }, "Clear rename");
      clear.addEventListener("click", function (e) {
        e.stopPropagation();
        delete state.rename[f.id];
        saveReview(); renderRows(); renderReviewStatus();
      });
      box.appendChild(clear);
    }
    box.appendChild(problem);
    box.appendChild(el("p", { "class": "hint" },
      "Checked here: an email-like username, not the clashing one, not a username or email any " +
      "finding of this report shows, not chosen for another rename. Not checked here: the " +
      "export's other records (this page holds only the findings); fix apply refuses a value " +
      "another record already uses (new-value-unused)."));
    return box;
  }
  /* The action of an accepted finding as the plan carries it, with the reviewer's decisions. */
  function plannedAction(f) {
    var action = JSON.parse(JSON.stringify(details(f).plan));
    var rename = state.rename[f.id];
    if (rename && action.action === "rename-username") {
      action.decision = rename[0];
      if (rename.length > 1) { action.more_decisions = rename.slice(1); }
      action.needs_decision = false;
    }
    var when = state.decided[f.id] || {};
    if (when.at) { action.decided_at = when.at; }
    if (when.by) { action.decided_by = when.by; }
    return action;
  }
  function planDocument() {
    var base = DATA.plan, plan = { schema: base.schema, source: base.source, review: base.review };
    if (state.reviewer) { plan.reviewer = state.reviewer; }
    if (base.export) { plan.export = base.export; }
    plan.actions = [];
    plan.rejected = [];
    FINDINGS.forEach(function (f) {
      var decision = state.review[f.id];
      if (decision === "accepted") { plan.actions.push(plannedAction(f)); }
      else if (decision === "rejected") {
        var when = state.decided[f.id] || {}, entry = { finding: f.id };
        if (when.at) { entry.decided_at = when.at; }
        if (when.by) { entry.decided_by = when.by; }
        plan.rejected.push(entry);
      }
    });
    return plan;
  }
  function downloadPlan() {
    var c = counts();
    if (c.accepted + c.rejected === 0) { return; }
    if (c.accepted === 0 && !window.confirm(
        "The plan holds no accepted fix, only " + c.rejected + " rejection" +
        (c.rejected === 1 ? "" : "s") + ": fix apply will change nothing. Download it anyway?")) {
      return;
    }
    var plan = planDocument();
    var blob = new Blob([JSON.stringify(plan, null, 1) + "\n"], { type: "application/json" });
    var url = URL.createObjectURL(blob);
    var a = el("a", { href: url, download: "fix-plan.json" });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  }

  /* Decisions kept in this browser, one entry per report (the export's fingerprint and the
     run's time), so reopening the file brings them back. A browser may refuse storage to a
     file opened from disk: the page then says so and works as before. */
  var STORE = (function () {
    try {
      var s = window.localStorage, probe = "connect-audit/probe";
      s.setItem(probe, "1");
      s.removeItem(probe);
      return s;
    } catch (e) { return null; }
  })();
  function storageNote(text) {
    var p = document.getElementById("storage-note");
    p.textContent = text;
    p.hidden = !text;
  }
  /* Kept small: the decisions made together (a bulk accept of thousands) share one entry, and
     every report opened from disk shares the browser's few megabytes for files. */
  function saveReview() {
    if (!STORE) { return; }
    var groups = {}, list = [];
    for (var id in state.review) {
      var when = state.decided[id] || {};
      var key = [state.review[id], when.at || "", when.by || ""].join("\u0000");
      if (!groups[key]) {
        groups[key] = { d: state.review[id], at: when.at || "", by: when.by || "", ids: [] };
        list.push(groups[key]);
      }
      groups[key].ids.push(id);
    }
    try {
      STORE.setItem(DATA.review_key, JSON.stringify({ reviewer: state.reviewer,
        decisions: list, rename: state.rename, suppress: state.suppress }));
    } catch (e) {
      storageNote("This browser refused to keep more decisions (its storage is full): download " +
                  "the fix plan before closing the page; Load decisions reads it back.");
    }
  }
  function restoreReview() {
    if (!STORE) {
      storageNote("This browser keeps nothing for a page opened from a file: decisions last only " +
                  "while the page is open. Download the fix plan before closing it; Load " +
                  "decisions reads it back.");
      return;
    }
    var saved;
    try { saved = JSON.parse(STORE.getItem(DATA.review_key) || "null"); } catch (e) { saved = null; }
    if (!saved || typeof saved !== "object") { return; }
    if (typeof saved.reviewer === "string") {
      state.reviewer = saved.reviewer;
      document.getElementById("decided-by").value = saved.reviewer;
    }
    (Array.isArray(saved.decisions) ? saved.decisions : []).forEach(function (group) {
      if (!group || (group.d !== "accepted" && group.d !== "rejected")) { return; }
      (group.ids || []).forEach(function (id) {
        if (BY_ID[id] && BY_ID[id].fixable) { setDecision(id, group.d, group.at, group.by || ""); }
      });
    });
    var renames = saved.rename || {};
    for (var id in renames) {
      if (BY_ID[id] && Array.isArray(renames[id])) { state.rename[id] = renames[id]; }
    }
    var marks = saved.suppress || {};
    for (var sid in marks) { if (BY_ID[sid]) { state.suppress[sid] = marks[sid]; } }
  }

  /* "Load decisions": a fix plan downloaded from this page (or written by `fix plan` from the
     same export), or a suppressions file, read back into the decisions. */
  function sameExport(a, b) {
    if (!a || !b) { return !a && !b; }
    var ta = a.tables || {}, tb = b.tables || {};
    var names = Object.keys(ta);
    if (names.length !== Object.keys(tb).length) { return false; }
    return names.every(function (n) { return tb[n] && tb[n].sha256 === ta[n].sha256; });
  }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
  function naming(n) { return n === 1 ? "1 decision names a finding" : n + " decisions name findings"; }
  function loadPlan(doc, name) {
    if (!sameExport(doc.export, DATA.plan.export)) {
      note(name + " was made from another export (" +
           ((doc.export && doc.export.export) || "none named") + "; this report's is " +
           ((DATA.plan.export && DATA.plan.export.export) || "none") +
           "): its decisions are not loaded.", true);
      return;
    }
    var accepted = 0, rejected = 0, unknown = 0, unfixable = 0;
    var fallbackBy = typeof doc.reviewer === "string" ? doc.reviewer : "";
    (Array.isArray(doc.actions) ? doc.actions : []).forEach(function (action) {
      var f = action && BY_ID[action.finding];
      if (!f) { unknown++; return; }
      if (!f.fixable) { unfixable++; return; }
      setDecision(f.id, "accepted", action.decided_at, action.decided_by || fallbackBy);
      accepted++;
      if (action.action === "rename-username") {
        var slots = renameSlots(action);
        if (slots.every(function (d) { return d && String(d.new_value || "").trim(); })) {
          state.rename[f.id] = slots.map(function (d) {
            return { table: d.table, key: d.key, column: d.column, new_value: String(d.new_value).trim() };
          });
        }
      }
    });
    (Array.isArray(doc.rejected) ? doc.rejected : []).forEach(function (entry) {
      var f = entry && BY_ID[entry.finding];
      if (!f) { unknown++; return; }
      if (!f.fixable) { unfixable++; return; }
      setDecision(f.id, "rejected", entry.decided_at, entry.decided_by || fallbackBy);
      rejected++;
    });
    if (!state.reviewer && fallbackBy) {
      state.reviewer = fallbackBy;
      document.getElementById("decided-by").value = fallbackBy;
    }
    var text = "Loaded from " + name + ": " + accepted + " accepted, " + rejected + " rejected.";
    if (unknown) { text += " " + naming(unknown) + " not in this report: not loaded."; }
    if (unfixable) { text += " " + naming(unfixable) + " with no fix to plan here: not loaded."; }
    note(text, unknown + unfixable > 0);
  }
  function loadSuppressions(doc, name) {
    var entries = Array.isArray(doc.suppressions) ? doc.suppressions : [];
    var pairs = {}, loadedCount = 0, unknown = 0, matched = {};
    entries.forEach(function (entry, i) {
      if (!entry) { return; }
      if (entry.finding) {
        if (BY_ID[entry.finding]) {
          state.suppress[entry.finding] = { reason: entry.reason || "", by: entry.by || "", at: entry.at || "" };
          loadedCount++;
        } else { unknown++; }
      } else if (Array.isArray(entry.pair) && entry.pair.length === 2) {
        pairs[entry.pair.slice().sort().join("|")] = { entry: entry, index: i };
      }
    });
    // A duplicate group is "different people" when every pair of its records is.
    FINDINGS.forEach(function (f) {
      if (f.check !== "duplicate-contact") { return; }
      var ids = (f.entities.contacts || []).slice().sort(), keys = [];
      for (var a = 0; a < ids.length; a++) {
        for (var b = a + 1; b < ids.length; b++) { keys.push(ids[a] + "|" + ids[b]); }
      }
      if (!keys.length || !keys.every(function (k) { return pairs[k]; })) { return; }
      var first = pairs[keys[0]].entry;
      state.suppress[f.id] = { reason: first.reason || "", by: first.by || "", at: first.at || "" };
      keys.forEach(function (k) { matched[k] = true; });
      loadedCount++;
    });
    for (var k in pairs) { if (!matched[k]) { unknown++; } }
    var text = "Loaded from " + name + ": " + plural(loadedCount, "suppression") + ".";
    if (unknown) {
      text += " " + unknown + (unknown === 1 ? " entry matches" : " entries match") +
              " no finding of this report: not loaded.";
    }
    note(text, unknown > 0);
  }
  function loadDecisions(file) {
    var reader = new FileReader();
    reader.onerror = function () { note(file.name + " cannot be read.", true); };
    reader.onload = function () {
      var doc;
      try { doc = JSON.parse(String(reader.result).replace(/^\ufeff/, "")); }
      catch (e) { note(file.name + " is not a JSON file: nothing loaded.", true); return; }
      if (doc && doc.schema === DATA.plan.schema) { loadPlan(doc, file.name); }
      else if (doc && doc.schema === DATA.suppressions.schema) { loadSuppressions(doc, file.name); }
      else {
        note(file.name + " is neither a fix plan nor a suppressions file of connect-audit: " +
             "nothing loaded.", true);
        return;
      }
      saveReview();
      applyFilters();
      renderReviewStatus();
    };
    reader.readAsText(file);
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
  function renderCauseOptions() {
    var select = document.getElementById("cause-filter"), seen = {};
    FINDINGS.forEach(function (f) { if (f.cause) { seen[f.cause] = (seen[f.cause] || 0) + 1; } });
    Object.keys(seen).sort().forEach(function (cause) {
      select.appendChild(el("option", { value: cause }, cause + " (" + seen[cause] + ")"));
    });
    select.disabled = !Object.keys(seen).length;
  }
  FINDINGS.forEach(function (f, i) { f._order = i; BY_ID[f.id] = f; });
  restoreReview();
  renderCards();
  renderTabs();
  renderSchoolOptions();
  renderCauseOptions();
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
  ["confidence", "cause", "decision"].forEach(function (name) {
    document.getElementById(name + "-filter").addEventListener("change", function (e) {
      setFilter(name, e.target.value);
    });
  });
  var reviewer = document.getElementById("decided-by");
  reviewer.addEventListener("input", function () {
    state.reviewer = reviewer.value.trim();
    if (state.reviewer && reviewer.classList.contains("ask")) {
      reviewer.classList.remove("ask");
      note("");
    }
    saveReview();
  });
  document.getElementById("accept-shown").addEventListener("click", function () { decideShown("accepted"); });
  document.getElementById("reject-shown").addEventListener("click", function () { decideShown("rejected"); });
  document.getElementById("load-decisions").addEventListener("change", function (e) {
    var file = e.target.files && e.target.files[0];
    if (file) { loadDecisions(file); }
    e.target.value = "";  // the same file may be loaded again after a change
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
  function whenLoaded() {
    loaded = true;
    renderReviewStatus();
    renderRows();  // any finding opened meanwhile now gets its details
    document.body.setAttribute("data-ready", "true");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenLoaded);
  } else { whenLoaded(); }
})();
