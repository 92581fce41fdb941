// pmarb dashboard behaviour: confirmation dialogs, the live opportunity feed (server-sent
// events), and gentle auto-refresh that never interrupts someone typing or confirming.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function busy() {
    var active = document.activeElement;
    var typing = active && (active.tagName === "INPUT" || active.tagName === "SELECT" || active.tagName === "TEXTAREA");
    return typing || document.querySelector("dialog[open]") || document.querySelector("details[open]");
  }

  onReady(function () {
    document.querySelectorAll("[data-open-dialog]").forEach(function (button) {
      button.addEventListener("click", function () {
        var dialog = document.getElementById(button.getAttribute("data-open-dialog"));
        dialog.showModal();
        var reason = dialog.querySelector("input[type=text]");
        if (reason) reason.focus();
      });
    });
    document.querySelectorAll("[data-close-dialog]").forEach(function (button) {
      button.addEventListener("click", function () {
        document.getElementById(button.getAttribute("data-close-dialog")).close();
      });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });

    var seconds = parseInt(document.body.getAttribute("data-autorefresh") || "0", 10);
    if (seconds > 0) {
      window.setInterval(function () { if (!busy()) window.location.reload(); }, seconds * 1000);
    }

    var table = document.querySelector("table[data-stream]");
    if (table && window.EventSource) liveFeed(table);
  });

  function cell(row, text, className) {
    var td = row.insertCell(-1);
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function liveFeed(table) {
    var state = document.getElementById("stream-state");
    var filters = {
      kind: table.getAttribute("data-filter-kind"),
      status: table.getAttribute("data-filter-status"),
      strategy: table.getAttribute("data-filter-strategy"),
    };
    var source = new EventSource(table.getAttribute("data-stream"));
    source.onopen = function () { state.className = "live-dot connected"; };
    source.onerror = function () { state.className = "live-dot disconnected"; };
    source.addEventListener("opportunity", function (event) {
      var o = JSON.parse(event.data);
      for (var key in filters) {
        if (filters[key] && o[key] !== filters[key]) return;
      }
      var body = table.tBodies[0];
      var placeholder = body.querySelector(".empty-row");
      if (placeholder) placeholder.remove();
      var existing = body.querySelector('tr[data-id="' + CSS.escape(o.id) + '"]');
      var row = document.createElement("tr");
      row.setAttribute("data-id", o.id);
      row.className = "fresh";
      cell(row, new Date(o.detected_at).toISOString().replace("T", " ").slice(0, 19) + " UTC");
      cell(row, o.kind);
      cell(row, o.edge, "n");
      cell(row, o.size, "n");
      cell(row, (o.legs || []).map(function (l) {
        return l.side + " " + l.outcome + " " + l.venue + ":" + l.market_id;
      }).join("; "), "legs");
      cell(row, o.strategy || "—");
      var status = cell(row, "");
      var badge = document.createElement("span");
      badge.className = "status status-" + o.status;
      badge.textContent = o.status;
      status.appendChild(badge);
      cell(row, o.risk_reason || "");
      var wf = cell(row, o.temporal_url ? "" : (o.workflow_id || ""));
      if (o.temporal_url) {
        var link = document.createElement("a");
        link.href = o.temporal_url; link.target = "_blank"; link.rel = "noopener";
        link.textContent = o.workflow_id + " ↗";
        wf.appendChild(link);
      }
      if (existing) existing.replaceWith(row); else body.insertBefore(row, body.firstChild);
      while (body.rows.length > 200) body.deleteRow(-1);
    });
  }
})();
