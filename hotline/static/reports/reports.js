/* Hotline 12345 — the chart of a report screen (templates/reports/report.html): grouped bars of the
 * report's count columns (this period, the previous one, the same period last year). */
(function () {
  "use strict";
  var el = document.querySelector("[data-chart]");
  var source = document.getElementById("report-chart-data");
  if (!el || !source || !window.echarts) return;
  var data = JSON.parse(source.textContent);
  var chart = window.echarts.init(el, null, { renderer: "canvas" });
  var colors = ["#1557b0", "#9aa9c2", "#c2410c"];
  chart.setOption({
    animation: false,
    color: colors,
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "category", data: data.categories, axisLabel: { interval: 0, rotate: data.categories.length > 12 ? 45 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: data.series.map(function (s) { return { name: s.name, type: "bar", data: s.data, barMaxWidth: 24 }; }),
  });
  el.setAttribute("data-rendered", String(data.categories.length));
  window.addEventListener("resize", function () { chart.resize(); });
  window.addEventListener("beforeprint", function () { chart.resize(); });
})();
