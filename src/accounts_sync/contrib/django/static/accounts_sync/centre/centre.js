/* The session centre's live updates: polls the JSON endpoints every 1.5 s while a session runs,
   and posts the buttons' forms with the framework's CSRF token. Without it the pages still show
   the current state on every refresh: the server renders the same JSON. */
(function () {
  "use strict";
  var root = document.getElementById("accounts-sync-centre");
  if (!root || !window.fetch) { return; }
  var texts = JSON.parse(root.dataset.texts || "{}");
  var timer = null;
  var EVERY = 1500;
  var ENDED = ["completed", "completed_with_errors", "failed", "cancelled"];

  function terminal(status) { return ENDED.indexOf(status) >= 0; }
  function label(status) { return texts.labels[status] || status; }
  function moment(iso) { return iso ? iso.slice(0, 19).replace("T", " ") + " UTC" : "-"; }
  function duration(start, end) {
    if (!start) { return "-"; }
    var seconds = Math.max(0, ((end ? Date.parse(end) : Date.now()) - Date.parse(start)) / 1000);
    return texts.seconds.replace("{seconds}", seconds.toFixed(1));
  }
  function percent(progress) { return Math.floor(progress) + "%"; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function badge(status) { return el("span", {"class": "as-badge as-" + status}, [label(status)]); }
  function progressBar(progress, name) {
    return el("progress", {max: "100", value: String(progress), "aria-label": name}, [percent(progress)]);
  }

  function ask(url, options) {
    var headers = {"Accept": "application/json"};
    if (options && options.method === "POST" && root.dataset.csrfHeader) {
      headers[root.dataset.csrfHeader] = root.dataset.csrfToken;
    }
    return fetch(url, {method: (options && options.method) || "GET", credentials: "same-origin", headers: headers})
      .then(function (response) {
        // Not every refusal is ours: a framework's CSRF failure answers its own HTML page.
        return response.json().catch(function () {
          return {message: response.status + " " + response.statusText};
        }).then(function (body) { return {status: response.status, body: body}; });
      });
  }

  function flash(message, warn, link) {
    var box = document.getElementById("as-flash");
    box.textContent = message || "";
    box.className = "as-flash" + (warn ? " as-warn" : "");
    if (link) {
      box.appendChild(document.createTextNode(" "));
      box.appendChild(el("a", {href: link.href, "data-link": link.kind}, [link.text]));
    }
  }

  function sessionPage(id) { return root.dataset.sessionPage + encodeURIComponent(id); }

  // Cells with the headers' words as data-label (the phone layout shows them), like the template.
  function fill(table, rows, cellsOf, idAttr, idField) {
    var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent; });
    var body = table.querySelector("tbody");
    body.textContent = "";
    rows.forEach(function (row) {
      var tr = el("tr", {"data-status": row.status});
      tr.setAttribute(idAttr, String(row[idField]));
      cellsOf(row).forEach(function (cell, index) {
        tr.appendChild(el("td", {"data-label": labels[index]}, cell));
      });
      body.appendChild(tr);
    });
    var empty = table.parentNode.querySelector(".as-empty");
    if (empty) { empty.hidden = rows.length > 0; }
  }

  function sessionCells(s) {
    return [
      [el("a", {href: sessionPage(s.session_id)}, [s.session_id])],
      [badge(s.status)],
      [progressBar(s.progress, texts.progress), el("span", {"class": "as-pct"}, [percent(s.progress)])],
      [String(s.total_instances)], [String(s.successful_instances)], [String(s.failed_instances)],
      [String(s.cancelled_instances)],
      [s.created_by === null ? texts.anonymous : String(s.created_by)],
      [el("time", {datetime: s.created_at || ""}, [moment(s.created_at)])],
      [duration(s.started_at, s.completed_at)]
    ];
  }
  function recordCells(r) {
    return [[r.instance_name], [badge(r.status)], [r.error_message || ""], [String(r.items_synced)],
      [duration(r.started_at, r.completed_at)]];
  }

  function setField(name, value) {
    var node = root.querySelector('[data-field="' + name + '"]');
    if (!node) { return; }
    if (name === "progress") { node.value = value; node.textContent = percent(value); } else { node.textContent = value; }
  }

  function showSession(s) {
    var section = document.getElementById("as-session");
    section.dataset.status = s.status;
    var status = section.querySelector('[data-field="status"]');
    status.className = "as-badge as-" + s.status;
    status.textContent = label(s.status);
    setField("progress", s.progress);
    setField("progress_text", percent(s.progress));
    setField("total", String(s.total_instances));
    setField("succeeded", String(s.successful_instances));
    setField("failed", String(s.failed_instances));
    setField("cancelled", String(s.cancelled_instances));
    setField("duration", duration(s.started_at, s.completed_at));
  }

  function settle(done) {
    if (!done) { return; }
    stop();
    Array.prototype.forEach.call(root.querySelectorAll(".as-hint"), function (hint) { hint.textContent = ""; });
    var cancel = root.querySelector('form[data-action="cancel"]');
    if (cancel && root.dataset.kind === "session") { cancel.hidden = true; }
  }

  function tick() {
    ask(root.dataset.pollUrl).then(function (answer) {
      if (answer.status !== 200) { flash(answer.body.message, true); stop(); return null; }
      var data = answer.body.data;
      if (root.dataset.kind === "sessions") {
        fill(document.getElementById("as-sessions"), data.sessions, sessionCells, "data-session-id", "session_id");
        settle(data.sessions.every(function (s) { return terminal(s.status); }));
        return null;
      }
      showSession(data.session);
      var records = root.dataset.recordsUrl ? ask(root.dataset.recordsUrl).then(function (more) {
        return more.status === 200 ? more.body.data.records : null;
      }) : Promise.resolve(data.records);
      return records.then(function (rows) {
        if (rows) { fill(document.getElementById("as-records"), rows, recordCells, "data-record-id", "record_id"); }
        settle(terminal(data.session.status));
      });
    }).catch(function () { stop(); });
  }

  function start() { if (!timer) { timer = window.setInterval(tick, EVERY); tick(); } }
  function stop() { if (timer) { window.clearInterval(timer); timer = null; } }

  function submitted(event) {
    var form = event.target.closest("form[data-action]");
    if (!form) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    ask(form.getAttribute("action"), {method: "POST"}).then(function (answer) {
      button.disabled = false;
      var body = answer.body;
      var id = body.data ? body.data.session_id : body.extra && body.extra.session_id;
      if (answer.status === 200) {
        flash(body.message, false, form.dataset.action === "start" && id ?
          {href: sessionPage(id), text: id, kind: "started"} : null);
      } else {
        flash(body.message, true, answer.status === 409 && id ?
          {href: sessionPage(id), text: texts.runningLink, kind: "running"} : null);
      }
      start();
    }).catch(function () { button.disabled = false; });
  }

  root.addEventListener("submit", submitted);
  if (root.dataset.live) { start(); }
}());
