/* Hotline 12345 — small behaviours of the UI shell. No build step, no external requests. */
(function () {
  "use strict";

  // The top-bar clock shows Beijing time whatever the workstation's own time zone is.
  var clockFormat;
  try {
    clockFormat = new Intl.DateTimeFormat("zh-CN", {
      timeZone: "Asia/Shanghai",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hour12: false,
    });
  } catch (e) {
    clockFormat = null;
  }

  function beijingNow() {
    var parts = {};
    clockFormat.formatToParts(new Date()).forEach(function (p) {
      parts[p.type] = p.value;
    });
    var hour = parts.hour === "24" ? "00" : parts.hour;
    return parts.year + "-" + parts.month + "-" + parts.day + " " + hour + ":" + parts.minute;
  }

  function tickClocks() {
    if (!clockFormat) return;
    var text = beijingNow();
    document.querySelectorAll("[data-clock]").forEach(function (el) {
      if (el.textContent !== text) el.textContent = text;
    });
  }

  // htmx: a failed request must not fail silently in front of a caller.
  function onHtmxError(event) {
    var detail = event.detail || {};
    var status = detail.xhr ? detail.xhr.status : 0;
    if (status === 401 || status === 403) {
      window.location.reload();
      return;
    }
    document.body.dispatchEvent(new CustomEvent("hotline:error", { detail: { status: status } }));
  }

  document.addEventListener("DOMContentLoaded", function () {
    tickClocks();
    window.setInterval(tickClocks, 15000);
    document.body.addEventListener("htmx:responseError", onHtmxError);
  });
})();
