(function () {
  "use strict";

  function missing(value) { return value === null || value === undefined || value === ""; }

  // Ascending order; the caller negates it for descending, so blanks are handled by sorted() instead.
  function compare(x, y) {
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x).localeCompare(String(y));
  }

  // Sort items by key, blanks last in either direction.
  function sorted(items, key, descending) {
    return items.slice().sort(function (a, b) {
      var x = key(a), y = key(b);
      if (missing(x) || missing(y)) return missing(x) === missing(y) ? 0 : (missing(x) ? 1 : -1);
      var order = compare(x, y);
      return descending ? -order : order;
    });
  }

  function setSort(heads, head, numeric) {
    var current = head.getAttribute("aria-sort");
    var descending = current ? current === "ascending" : numeric;
    Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
    head.setAttribute("aria-sort", descending ? "descending" : "ascending");
    return descending;
  }

  // Flat tables: numeric cells carry their raw value in data-v; sorting compares those, never the display text.
  function cellValue(cell) {
    var raw = cell.getAttribute("data-v");
    if (raw === null) return cell.textContent.trim();
    var number = Number(raw);
    return isNaN(number) ? raw : number;
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    var kinds = (table.getAttribute("data-columns") || "").split(" ");
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (head, column) {
      head.tabIndex = 0;
      function sort() {
        var descending = setSort(heads, head, kinds[column] === "n");
        var body = table.tBodies[0];
        sorted(Array.prototype.slice.call(body.rows), function (row) { return cellValue(row.cells[column]); },
               descending).forEach(function (row) { body.appendChild(row); });
      }
      head.addEventListener("click", sort);
      head.addEventListener("keydown", function (event) { if (event.key === "Enter") sort(); });
    });
  });

  // Layer trees: drawn from their JSON data, only the rows that are open (or that match the filter).
  function TreeTable(holder) {
    var data = JSON.parse(document.getElementById(holder.getAttribute("data-source")).textContent);
    var rows = data.rows, columns = data.columns, names = data.names;
    var children = rows.map(function () { return []; });
    var roots = [];
    rows.forEach(function (row, i) { if (row[0] < 0) roots.push(i); else children[row[0]].push(i); });
    var open = rows.map(function (row) { return row[1] < data.open_depth; });
    var sortColumn = -1, descending = false, filterText = "";
    var table = holder.querySelector("table"), body = table.tBodies[0], count = holder.querySelector(".count");
    var heads = table.tHead.rows[0].cells;

    function ordered(list) {
      if (sortColumn < 0) return list;
      return sorted(list, function (i) { return sortColumn === 0 ? rows[i][2] : rows[i][4][sortColumn - 1]; },
                    descending);
    }

    function matching() {
      if (!filterText) return null;
      var keep = new Uint8Array(rows.length);
      rows.forEach(function (row, i) {
        var text = (names[i] + " " + row[3][0]).toLowerCase();
        if (text.indexOf(filterText) < 0) return;
        for (var j = i; j >= 0 && !keep[j]; j = rows[j][0]) keep[j] = 1;
      });
      return keep;
    }

    function draw() {
      var keep = matching(), shown = 0, fragment = document.createDocumentFragment();
      function visit(i) {
        if (keep && !keep[i]) return;
        var row = rows[i], tr = document.createElement("tr"), first = document.createElement("td");
        var expandable = children[i].length > 0, expanded = keep ? true : open[i];
        tr.setAttribute("data-row", i);
        tr.setAttribute("aria-level", row[1] + 1);
        first.className = "tree";
        first.style.paddingLeft = (6 + 16 * row[1]) + "px";
        first.title = names[i] || "(root)";
        if (expandable) {
          var button = document.createElement("button");
          button.type = "button";
          button.className = "toggle";
          button.setAttribute("aria-expanded", expanded ? "true" : "false");
          button.setAttribute("aria-label", (expanded ? "collapse " : "expand ") + (names[i] || "(root)"));
          button.textContent = expanded ? "\u25BE" : "\u25B8";
          if (keep) { button.disabled = true; button.title = "clear the filter to open or close modules"; }
          first.appendChild(button);
        } else {
          var spacer = document.createElement("span");
          spacer.className = "leaf";
          first.appendChild(spacer);
        }
        first.appendChild(document.createTextNode(row[2]));
        tr.appendChild(first);
        row[3].forEach(function (text, c) {
          var td = document.createElement("td");
          var raw = row[4][c];
          if (columns[c + 1].numeric) td.className = "n";
          if (columns[c + 1].exact && typeof raw === "number" && Math.abs(raw) >= 1000) {
            td.title = raw.toLocaleString("en-US");
          }
          td.textContent = text;
          tr.appendChild(td);
        });
        fragment.appendChild(tr);
        shown += 1;
        if (expandable && expanded) ordered(children[i]).forEach(visit);
      }
      ordered(roots).forEach(visit);
      body.replaceChildren(fragment);
      count.textContent = shown + " of " + rows.length + " modules shown";
    }

    body.addEventListener("click", function (event) {
      var button = event.target.closest("button.toggle");
      if (!button || filterText) return;
      var i = Number(button.closest("tr").getAttribute("data-row"));
      open[i] = !open[i];
      draw();
    });
    holder.querySelector("input.filter").addEventListener("input", function (event) {
      filterText = event.target.value.trim().toLowerCase();
      draw();
    });
    window.addEventListener("beforeprint", function () {  // a printed tree shows every module
      if (filterText) return;
      open = rows.map(function () { return true; });
      draw();
    });
    holder.querySelectorAll("button[data-open]").forEach(function (button) {
      button.addEventListener("click", function () {
        var all = button.getAttribute("data-open") === "all";
        open = rows.map(function (row) { return all || row[1] < data.open_depth; });
        draw();
      });
    });
    Array.prototype.forEach.call(heads, function (head, column) {
      head.tabIndex = 0;
      function sort() {
        descending = setSort(heads, head, columns[column].numeric);
        sortColumn = column;
        draw();
      }
      head.addEventListener("click", sort);
      head.addEventListener("keydown", function (event) { if (event.key === "Enter") sort(); });
    });
    draw();
  }

  document.querySelectorAll("div.tree-table").forEach(TreeTable);
})();
