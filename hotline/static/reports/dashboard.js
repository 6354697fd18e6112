/* Hotline 12345 — the leaders' dashboard and its wall screen (templates/reports/_dashboard_body.html).
 *
 * The figures come from /reports/dashboard/data/ (shared by every screen, cached for a few seconds on
 * the server). They are fetched again when the page's socket (notify/bell.html, window.hotlineLive)
 * brings {"type": "reports.orders"} (and once more when the server's shared copy has expired), and
 * every minute whatever the socket does. */
(function () {
  "use strict";

  var root = document.querySelector("[data-dashboard]");
  if (!root) return;
  var config = JSON.parse(document.getElementById("dashboard-config").textContent);
  var texts = config.texts || {};
  var charts = {};
  var pending = null;
  var inFlight = false;
  var again = false;

  // --- values --------------------------------------------------------------------------------------

  function get(data, path) {
    return path.split(".").reduce(function (value, key) {
      return value === null || value === undefined ? undefined : value[key];
    }, data);
  }

  function format(value, kind) {
    if (value === null || value === undefined || value === "") return texts.none || "—";
    if (kind === "rate") return (Number(value) * 100).toFixed(1) + "%";
    if (typeof value === "number") return value.toLocaleString("zh-CN");
    return String(value);
  }

  // A list of (label, value) from what the server sends: a report table ({columns, rows}), a list of
  // objects ({label|name, count|value}) or of pairs.
  function pairs(source) {
    if (!source) return [];
    if (source.rows && source.columns) {
      var column = source.columns.filter(function (c) { return c.kind === "int"; })[0] || source.columns[0];
      return source.rows.map(function (row) {
        return { label: row.label, value: column ? Number(row.values[column.key]) || 0 : 0 };
      });
    }
    if (Array.isArray(source)) {
      return source.map(function (item) {
        if (Array.isArray(item)) return { label: String(item[0]), value: Number(item[1]) || 0 };
        var label = item.label || item.name || item.region || item.category || "";
        var value = item.count !== undefined ? item.count : item.received !== undefined ? item.received : item.value;
        return { label: String(label), value: Number(value) || 0 };
      });
    }
    return [];
  }

  // --- painting ------------------------------------------------------------------------------------

  var painted = false;

  function paintFigures(data) {
    root.querySelectorAll("[data-fig]").forEach(function (el) {
      var text = format(get(data, el.getAttribute("data-fig")), el.getAttribute("data-kind"));
      if (el.textContent.trim() !== text) {
        el.textContent = text;
        if (!painted) return; // the first figures: nothing changed yet
        el.classList.remove("db-changed");
        void el.offsetWidth; // restart the highlight
        el.classList.add("db-changed");
      }
    });
  }

  function chartColors() {
    var wall = document.body.classList.contains("db-wall");
    return {
      text: wall ? "#c9d6ea" : "#4a5568",
      line: wall ? "#2a3b57" : "#dde2ea",
      bar: wall ? "#3ba0ff" : "#1557b0",
      bar2: wall ? "#ffb547" : "#c2410c",
    };
  }

  function paintBar(name, items, color) {
    var el = root.querySelector('[data-chart="' + name + '"]');
    if (!el || !window.echarts) return;
    var chart = charts[name] || (charts[name] = window.echarts.init(el, null, { renderer: "canvas" }));
    var c = chartColors();
    var rows = items.slice().reverse(); // the largest on top
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: {
        type: "value",
        minInterval: 1,
        axisLabel: { color: c.text },
        splitLine: { lineStyle: { color: c.line } },
      },
      yAxis: {
        type: "category",
        data: rows.map(function (r) { return r.label; }),
        axisLabel: { color: c.text, fontSize: document.body.classList.contains("db-wall") ? 16 : 12 },
      },
      series: [
        {
          type: "bar",
          data: rows.map(function (r) { return r.value; }),
          itemStyle: { color: color || c.bar },
          label: { show: true, position: "right", color: c.text },
          barMaxWidth: 28,
        },
      ],
    }, true);
    el.setAttribute("data-rendered", String(rows.length));
  }

  function paintHours(hours) {
    var el = root.querySelector('[data-chart="hours"]');
    if (!el || !window.echarts) return;
    var chart = charts.hours || (charts.hours = window.echarts.init(el, null, { renderer: "canvas" }));
    var c = chartColors();
    var list = Array.isArray(hours) ? hours : [];
    chart.setOption({
      animation: false,
      color: [c.bar, c.bar2],
      legend: { top: 0, textStyle: { color: c.text } },
      grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: {
        type: "category",
        data: list.map(function (h) { return (h.hour < 10 ? "0" : "") + h.hour + ":00"; }),
        axisLabel: { color: c.text },
      },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: c.text }, splitLine: { lineStyle: { color: c.line } } },
      series: [
        { name: texts.calls, type: "bar", data: list.map(function (h) { return h.calls; }), barMaxWidth: 20 },
        { name: texts.calls_answered, type: "line", data: list.map(function (h) { return h.answered; }) },
      ],
    }, true);
    el.setAttribute("data-rendered", String(list.length));
  }

  function cellText(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function paintOverdue(list) {
    var body = root.querySelector("[data-overdue-rows]");
    if (!body) return;
    var items = [];
    if (list && list.rows && list.columns) {
      items = list.rows.map(function (row) {
        var v = row.values || {};
        return { number: v.number || row.key, title: v.title || row.label, unit: v.unit || v.lead_unit || "", due: v.due_at || v.due || "" };
      });
    } else if (Array.isArray(list)) {
      items = list.map(function (o) {
        return { number: o.number, title: o.title, unit: o.unit || o.lead_unit || o.lead_unit__name || "", due: o.due_at || o.due || "" };
      });
    }
    body.textContent = "";
    items.forEach(function (o) {
      var tr = document.createElement("tr");
      var number = document.createElement("td");
      var link = document.createElement("a");
      link.href = "/orders/" + encodeURIComponent(o.number) + "/";
      link.textContent = o.number;
      link.className = "mono";
      number.appendChild(link);
      tr.appendChild(number);
      [o.title, o.unit, cellText(o.due).replace("T", " ").slice(0, 16)].forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = cellText(text);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    var count = root.querySelector("[data-overdue-count]");
    if (count) count.textContent = String(items.length);
  }

  function paint(data) {
    if (!data) return;
    paintFigures(data);
    painted = true;
    var o = data.orders || {};
    paintBar("regions", pairs(o.regions || o.region_ranking), null);
    paintBar("categories", pairs(o.categories || o.hot_categories), chartColors().bar2);
    paintOverdue(o.overdue);
    paintHours((data.calls || {}).hours);
    var updated = root.querySelector("[data-updated]");
    if (updated && data.at) {
      updated.textContent = (texts.updated || "%(time)s").replace("%(time)s", String(data.at).slice(11, 19));
    }
    root.setAttribute("data-at", data.at || "");
  }

  // --- fetching ------------------------------------------------------------------------------------

  function refresh() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    fetch(config.data_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.redirected) {
          window.location.reload(); // signed out: the page shows the log-in form
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(paint)
      .catch(function () {})
      .then(function () {
        inFlight = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  // Several events in a burst: one fetch. The server shares its figures for a few seconds
  // (config.cache_ms), so the first answer may predate the change: ask once more after that.
  var settle = null;
  function soon() {
    if (!pending) {
      pending = window.setTimeout(function () {
        pending = null;
        refresh();
      }, 300);
    }
    if (settle) window.clearTimeout(settle);
    settle = window.setTimeout(function () {
      settle = null;
      refresh();
    }, (config.cache_ms || 5000) + 700);
  }

  document.addEventListener("hotline:live", function (event) {
    var data = event.detail;
    if (data && data.type === "reports.orders") soon();
  });
  var offline = root.querySelector("[data-offline]");
  document.addEventListener("hotline:live-open", function () {
    if (offline) offline.hidden = true;
    soon(); // events missed while the socket was down
  });
  document.addEventListener("hotline:live-closed", function () {
    if (offline) offline.hidden = false;
  });
  window.setInterval(refresh, config.refresh_ms || 60000);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (name) { charts[name].resize(); });
  });

  // --- the wall screen ------------------------------------------------------------------------------

  if (config.wall) {
    var clock = document.querySelector("[data-wall-clock]");
    var tick = function () {
      if (clock) clock.textContent = new Date().toLocaleString("zh-CN", { hour12: false });
    };
    tick();
    window.setInterval(tick, 1000);
    document.addEventListener("click", function () {
      var el = document.documentElement;
      if (document.fullscreenElement || !el.requestFullscreen) return;
      var p = el.requestFullscreen();
      if (p && p.catch) p.catch(function () {});
    });
    document.addEventListener("fullscreenchange", function () {
      var hint = document.querySelector("[data-fullscreen-hint]");
      if (hint) hint.hidden = !!document.fullscreenElement;
    });
  }

  window.hotlineDashboard = { refresh: refresh, paint: paint };
  paint(JSON.parse(document.getElementById("dashboard-figures").textContent));
})();
