/* Side-by-side evidence of a duplicate-contact group (reports/records.py builds the table):
   one column per contact record, the kept one first, one row per field, each cell coloured
   by its agreement with the other records and saying it in words, so colour is never the
   only sign. Data reaches the page through the caller's el() (textContent, visible()). */
var connectRecords = (function () {
  "use strict";
  var LEVEL_WORD = { same: "same", similar: "similar", different: "different",
                     missing: "missing" };
  var LEVEL_HELP = {
    same: "the same as another record",
    similar: "equal once case, spacing, punctuation, phone format or a nickname is set aside",
    different: "no other record agrees",
    missing: "this record has none"
  };
  var SPACE_MARK = "\u2423";

  /* The value, its hidden spaces (already ␣ in the data) marked so they stand out. */
  function valueNode(el, text) {
    var span = el("span", { "class": "value" });
    String(text).split(SPACE_MARK).forEach(function (part, i) {
      if (i) {
        span.appendChild(el("span", { "class": "space-mark", title: "a space you would not see" },
                            SPACE_MARK));
      }
      if (part) { span.appendChild(el("span", null, part)); }
    });
    return span;
  }

  /* A cell is [text, level] or [text, level, note] (reports/records.py page_table). */
  function cellNode(el, field, data) {
    var cell = { text: data[0], level: data[1], note: data[2] };
    var td = el("td", { "class": "level-" + cell.level });
    if (cell.level === "missing") {
      td.appendChild(el("span", { "class": "value none" }, "\u2014"));
    } else if (field === "students") {
      var list = el("ul", { "class": "lines" });
      String(cell.text).split("\n").forEach(function (line) {
        var li = el("li");
        li.appendChild(valueNode(el, line));
        list.appendChild(li);
      });
      td.appendChild(list);
    } else {
      td.appendChild(valueNode(el, cell.text));
    }
    td.appendChild(el("span", { "class": "level" },
                      LEVEL_WORD[cell.level] + (cell.note ? ": " + cell.note : "")));
    return td;
  }

  function legend(el) {
    var p = el("p", { "class": "records-legend" });
    ["same", "similar", "different", "missing"].forEach(function (level) {
      var item = el("span", { "class": "swatch level-" + level }, LEVEL_WORD[level]);
      item.setAttribute("title", LEVEL_HELP[level]);
      p.appendChild(item);
      p.appendChild(el("span", { "class": "swatch-help" }, LEVEL_HELP[level]));
    });
    var spaces = el("span", { "class": "swatch-help" });
    spaces.appendChild(el("span", { "class": "space-mark" }, SPACE_MARK));
    spaces.appendChild(el("span", null,
                          " marks a space you would not see (doubled, leading, trailing, a tab)."));
    p.appendChild(spaces);
    return p;
  }

  function render(table, el) {
    var box = el("div", { "class": "records-box" });
    var t = el("table", { "class": "records" });
    t.appendChild(el("caption", null, "Side by side: " + table.records.length +
                     " contact records, the kept one first"));
    var head = el("tr");
    head.appendChild(el("th", { scope: "col" }, "Field"));
    table.records.forEach(function (r) {
      var th = el("th", { scope: "col", "class": r.role, "data-record": r.id });
      th.appendChild(el("span", { "class": "record-id" }, r.id));
      if (r.name) { th.appendChild(valueNode(el, r.name)); }
      th.appendChild(el("span", { "class": "role" },
                        r.role === "kept" ? "kept (survivor)" : "merged into the kept record"));
      head.appendChild(th);
    });
    var thead = el("thead");
    thead.appendChild(head);
    t.appendChild(thead);
    var body = el("tbody");
    table.rows.forEach(function (row) {  // [field, label, level, cells]
      var tr = el("tr", { "data-field": row[0], "class": "row-" + row[2] });
      var th = el("th", { scope: "row" });
      th.appendChild(el("span", null, row[1]));
      body.appendChild(tr);
      tr.appendChild(th);
      row[3].forEach(function (cell) { tr.appendChild(cellNode(el, row[0], cell)); });
    });
    t.appendChild(body);
    box.appendChild(t);
    box.appendChild(legend(el));
    return box;
  }

  return { render: render };
})();
