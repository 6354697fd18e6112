/* Hotline 12345 — the supervisor wall (班长监控墙).
 *
 * Speaks the live protocol of docs/desktop.md through the page's one socket (notify/bell.html):
 * asks for a snapshot ({"type": "cc", "action": "wall"}) whenever the socket (re)opens, renders
 * the "cc.wall" answer, then applies "cc.agent" and "cc.queue" as they come. Supervisor actions
 * go out as {"type": "cc", "action": …}; "cc.error" answers show in the alert at the top.
 * Every label comes from the page (json_script "wall-config" and the <template>s).
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-wall]");
  var configEl = document.getElementById("wall-config");
  if (!root || !configEl) return;
  var cfg = JSON.parse(configEl.textContent);
  var T = cfg.texts;

  var SNAPSHOT_TIMEOUT_MS = 3000; // no cc.wall within this: the switch is not running
  var RESYNC_MIN_MS = 1500; // at most one extra snapshot this often (waiting calls changed)

  var agents = {}; // agent_id → the switch's agent dict
  var agentRows = {}; // agent_id → <tr>
  var agentOrder = []; // agent ids, in display order
  var queues = {}; // code → queue dict
  var queueRows = {};
  var waiting = {}; // code → [{call_id, caller, since}]
  var monitors = {}; // leg_id → {leg_id, agent_id, mode}
  var refs = {}; // ref → action, to name the action of a cc.error
  var seq = 0;
  var snapshotTimer = null;
  var resyncTimer = null;
  var lastSnapshotAsk = 0;

  var queueInfo = {};
  (cfg.queues || []).forEach(function (q) {
    queueInfo[q.code] = q;
  });
  var reasonNames = {};
  (cfg.pause_reasons || []).forEach(function (r) {
    reasonNames[r.code] = r.name;
  });
  var members = {};
  Object.keys(cfg.members || {}).forEach(function (code) {
    members[code] = {};
    cfg.members[code].forEach(function (id) {
      members[code][String(id)] = true;
    });
  });
  var callStates = {};
  (cfg.call_states || []).forEach(function (s) {
    callStates[s] = true;
  });

  function q(selector, el) {
    return (el || root).querySelector(selector);
  }
  var agentBody = q("[data-agent-rows]");
  var queueBody = q("[data-queue-rows]");
  var waitingList = q("[data-waiting-list]");
  var monitorBox = q("[data-testid=wall-monitoring]");
  var monitorList = q("[data-monitor-list]");
  var alertBox = q("[data-testid=wall-alert]");
  var downBox = q("[data-testid=switch-down]");
  var filterQueue = q("[data-filter-queue]");
  var filterState = q("[data-filter-state]");
  var extensionInput = q("[data-monitor-extension]");
  var pauseReason = q("[data-pause-reason]");

  // --- helpers ------------------------------------------------------------------------------------

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_m, key) {
      return values[key] === undefined || values[key] === null ? "" : String(values[key]);
    });
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function duration(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s % 60);
  }

  function instant(iso) {
    if (!iso) return null;
    var t = Date.parse(iso);
    return isNaN(t) ? null : t;
  }

  // A timer cell counts up from its data-since; past its data-limit-ms it turns red.
  function paintTimer(el, now) {
    var elapsed = now - Number(el.getAttribute("data-since"));
    setText(el, duration(elapsed));
    var limit = Number(el.getAttribute("data-limit-ms") || 0);
    el.classList.toggle("wall-over", limit > 0 && elapsed > limit);
  }

  function clone(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  function field(el, name) {
    return el.querySelector('[data-f="' + name + '"]');
  }

  function setText(el, text) {
    text = text === undefined || text === null ? "" : String(text);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function queueName(code) {
    if (!code) return "";
    if (queues[code] && queues[code].name) return queues[code].name;
    return queueInfo[code] ? queueInfo[code].name : code;
  }

  function agentLabel(a) {
    return a.extension ? a.name + " (" + fmt(T.extension, { ext: a.extension }) + ")" : a.name;
  }

  // --- talking to the switch -----------------------------------------------------------------------

  function showAlert(text) {
    setText(q("[data-alert-text]", alertBox), text);
    alertBox.hidden = false;
  }

  function send(action, args) {
    var message = { type: "cc", action: action };
    if (action !== "wall") {
      seq += 1;
      message.ref = "wall-" + seq;
      refs[message.ref] = action;
    }
    Object.keys(args || {}).forEach(function (key) {
      message[key] = args[key];
    });
    var live = window.hotlineLive;
    if (!live || !live.send(message)) {
      showAlert(T.offline);
      return false;
    }
    return true;
  }

  function setSwitchDown(down) {
    downBox.hidden = !down;
    root.classList.toggle("is-stale", down);
  }

  function armSnapshotTimer() {
    window.clearTimeout(snapshotTimer);
    snapshotTimer = window.setTimeout(function () {
      setSwitchDown(true);
    }, SNAPSHOT_TIMEOUT_MS);
  }

  function askSnapshot() {
    lastSnapshotAsk = Date.now();
    armSnapshotTimer();
    var live = window.hotlineLive;
    if (live && live.isOpen()) send("wall");
  }

  // The snapshot is the only source of the waiting calls themselves: ask again when a queue's
  // count no longer matches them, at most every RESYNC_MIN_MS.
  function resyncSoon() {
    if (resyncTimer) return;
    var wait = Math.max(0, lastSnapshotAsk + RESYNC_MIN_MS - Date.now());
    resyncTimer = window.setTimeout(function () {
      resyncTimer = null;
      askSnapshot();
    }, wait);
  }

  // --- agents ---------------------------------------------------------------------------------------

  function agentVisible(a) {
    var state = filterState.value;
    var code = filterQueue.value;
    if (state && a.state !== state) return false;
    if (code && !(members[code] && members[code][String(a.agent_id)]) && a.queue !== code) return false;
    return true;
  }

  function inQueueFilter(a) {
    var code = filterQueue.value;
    return !code || (members[code] && members[code][String(a.agent_id)]) || a.queue === code;
  }

  function detailOf(a) {
    if (a.call_id || a.caller) return queueName(a.queue);
    if (a.reason) return reasonNames[a.reason] || (T.reasons && T.reasons[a.reason]) || a.reason;
    return "";
  }

  function fillAgent(row, a) {
    var state = a.state || "logged_out";
    row.setAttribute("data-testid", "agent-" + a.agent_id);
    row.setAttribute("data-agent-id", String(a.agent_id));
    row.setAttribute("data-state", state);
    setText(field(row, "name"), a.name);
    setText(field(row, "extension"), a.extension || "");
    var stateCell = row.querySelector("[data-testid=agent-state]");
    stateCell.setAttribute("data-state", state);
    var badge = field(row, "state");
    badge.className = "wall-state st--" + state;
    setText(badge, cfg.states[state] || state);
    var timer = field(row, "time");
    var since = instant(a.since);
    if (since === null) timer.removeAttribute("data-since");
    else timer.setAttribute("data-since", String(since));
    setText(timer, since === null ? "—" : duration(Date.now() - since));
    setText(field(row, "calls"), a.calls || 0);
    setText(field(row, "caller"), a.caller || "");
    setText(field(row, "detail"), detailOf(a));
    var noAnswers = field(row, "no_answers");
    setText(noAnswers, a.no_answers_in_row || 0);
    noAnswers.classList.toggle("wall-warn", (a.no_answers_in_row || 0) > 0);
    var onCall = !!callStates[state] && !!a.call_id;
    var signedIn = state !== "logged_out";
    row.querySelectorAll("button[data-act]").forEach(function (button) {
      var act = button.getAttribute("data-act");
      var enabled;
      if (act === "listen" || act === "whisper" || act === "barge" || act === "release") enabled = onCall;
      else if (act === "pause") enabled = signedIn && state !== "paused";
      else if (act === "logout") enabled = signedIn;
      else enabled = state === "locked";
      button.disabled = !enabled;
      if (act === "unlock") button.hidden = state !== "locked";
    });
    row.classList.toggle("is-monitored", monitoredAgents()[String(a.agent_id)] === true);
    row.hidden = !agentVisible(a);
  }

  function upsertAgent(a) {
    if (!a || a.agent_id === undefined || a.agent_id === null) return;
    var id = String(a.agent_id);
    agents[id] = a;
    var row = agentRows[id];
    if (!row) {
      row = agentRows[id] = clone("wall-agent-row");
      agentOrder.push(id);
      agentBody.appendChild(row);
    }
    if (!a.call_id) dropMonitorsOf(id);
    fillAgent(row, a);
  }

  function renderSummary() {
    var counts = { "": 0 };
    agentOrder.forEach(function (id) {
      var a = agents[id];
      if (!inQueueFilter(a)) return;
      counts[""] += 1;
      counts[a.state] = (counts[a.state] || 0) + 1;
    });
    root.querySelectorAll("[data-summary]").forEach(function (button) {
      var state = button.getAttribute("data-summary");
      setText(button.querySelector("[data-count]"), counts[state] || 0);
      button.classList.toggle("is-active", filterState.value === state);
    });
    var shown = agentOrder.filter(function (id) {
      return !agentRows[id].hidden;
    }).length;
    setText(q("[data-agents-meta]"), agentOrder.length ? shown + " / " + agentOrder.length : "");
    q("[data-agents-empty]").hidden = agentOrder.length > 0;
  }

  function applyFilters() {
    agentOrder.forEach(function (id) {
      agentRows[id].hidden = !agentVisible(agents[id]);
    });
    queueBodyFilter();
    renderSummary();
  }

  // --- queues and waiting calls ------------------------------------------------------------------------

  function queueBodyFilter() {
    var code = filterQueue.value;
    Object.keys(queueRows).forEach(function (c) {
      queueRows[c].classList.toggle("is-selected", !!code && c === code);
    });
  }

  function upsertQueue(item) {
    if (!item || !item.code) return;
    queues[item.code] = item;
    var row = queueRows[item.code];
    if (!row) {
      row = queueRows[item.code] = clone("wall-queue-row");
      row.setAttribute("data-testid", "queue-" + item.code);
      row.setAttribute("data-code", item.code);
      queueBody.appendChild(row);
    }
    setText(field(row, "name"), item.name || queueName(item.code));
    setText(field(row, "code"), item.code);
    setText(field(row, "waiting"), item.waiting || 0);
    row.classList.toggle("has-waiting", (item.waiting || 0) > 0);
    var longest = field(row, "longest");
    var since = item.waiting ? instant(item.longest_wait_since) : null;
    if (since === null) {
      longest.removeAttribute("data-since");
      longest.classList.remove("wall-over");
      setText(longest, "—");
    } else {
      longest.setAttribute("data-since", String(since));
      var limit = queueInfo[item.code] ? queueInfo[item.code].service_level_s : 0;
      if (limit) longest.setAttribute("data-limit-ms", String(limit * 1000));
      paintTimer(longest, Date.now());
    }
    setText(field(row, "ready"), item.ready || 0);
    setText(field(row, "staffed"), item.staffed || 0);
    queueBodyFilter();
    var known = (waiting[item.code] || []).length;
    if ((item.waiting || 0) !== known) resyncSoon();
  }

  function readyAgents(code) {
    var inQueue = [];
    var others = [];
    agentOrder.forEach(function (id) {
      var a = agents[id];
      if (a.state !== "ready") return;
      if (members[code] && members[code][id]) inQueue.push(a);
      else others.push(a);
    });
    return inQueue.concat(others);
  }

  function fillTakeSelect(select, code) {
    var current = select.value;
    var ready = readyAgents(code);
    select.textContent = "";
    if (!ready.length) {
      var none = document.createElement("option");
      none.value = "";
      none.textContent = T.no_ready_agent;
      select.appendChild(none);
    }
    ready.forEach(function (a) {
      var option = document.createElement("option");
      option.value = String(a.agent_id);
      option.textContent = agentLabel(a);
      select.appendChild(option);
    });
    if (current && ready.some(function (a) { return String(a.agent_id) === current; })) select.value = current;
  }

  function refreshTakeSelects() {
    waitingList.querySelectorAll("[data-call-id]").forEach(function (item) {
      fillTakeSelect(item.querySelector("[data-take-agent]"), item.getAttribute("data-queue"));
    });
  }

  function renderWaiting() {
    var existing = {};
    waitingList.querySelectorAll("[data-call-id]").forEach(function (item) {
      existing[item.getAttribute("data-call-id")] = item;
    });
    var codes = Object.keys(queues);
    Object.keys(waiting).forEach(function (code) {
      if (codes.indexOf(code) < 0) codes.push(code);
    });
    var order = [];
    codes.forEach(function (code) {
      (waiting[code] || []).forEach(function (call) {
        order.push([code, call]);
      });
    });
    order.forEach(function (pair) {
      var code = pair[0];
      var call = pair[1];
      var item = existing[call.call_id];
      delete existing[call.call_id];
      if (!item) {
        item = clone("wall-waiting-row");
        item.setAttribute("data-call-id", call.call_id);
        item.setAttribute("data-testid", "waiting-" + call.call_id);
      }
      item.setAttribute("data-queue", code);
      setText(field(item, "caller"), call.caller);
      setText(field(item, "queue"), queueName(code));
      var since = instant(call.since);
      var waited = field(item, "waited");
      if (since === null) waited.removeAttribute("data-since");
      else waited.setAttribute("data-since", String(since));
      setText(waited, since === null ? "" : duration(Date.now() - since));
      fillTakeSelect(item.querySelector("[data-take-agent]"), code);
      waitingList.appendChild(item);
    });
    Object.keys(existing).forEach(function (callId) {
      existing[callId].remove();
    });
    q("[data-waiting-empty]").hidden = order.length > 0;
  }

  // --- monitoring -------------------------------------------------------------------------------------

  function monitoredAgents() {
    var result = {};
    Object.keys(monitors).forEach(function (leg) {
      result[String(monitors[leg].agent_id)] = true;
    });
    return result;
  }

  function renderMonitors() {
    monitorList.textContent = "";
    var legs = Object.keys(monitors);
    legs.forEach(function (leg) {
      var m = monitors[leg];
      var a = agents[String(m.agent_id)];
      var item = clone("wall-monitor-item");
      item.setAttribute("data-leg-id", leg);
      setText(field(item, "text"), (T.modes[m.mode] || m.mode) + " · " + (a ? agentLabel(a) : m.agent_id));
      item.querySelector("[data-monitor-end]").setAttribute("data-leg-id", leg);
      monitorList.appendChild(item);
    });
    monitorBox.hidden = legs.length === 0;
    var marked = monitoredAgents();
    agentOrder.forEach(function (id) {
      agentRows[id].classList.toggle("is-monitored", marked[id] === true);
    });
  }

  function dropMonitorsOf(agentId) {
    var changed = false;
    Object.keys(monitors).forEach(function (leg) {
      if (String(monitors[leg].agent_id) === agentId) {
        delete monitors[leg];
        changed = true;
      }
    });
    if (changed) renderMonitors();
  }

  // --- messages from the switch ---------------------------------------------------------------------

  function applySnapshot(data) {
    window.clearTimeout(snapshotTimer);
    setSwitchDown(false);
    var list = (data.agents || []).slice().sort(function (a, b) {
      return String(a.extension || "").localeCompare(String(b.extension || "")) || String(a.name).localeCompare(String(b.name));
    });
    var seen = {};
    list.forEach(function (a) {
      seen[String(a.agent_id)] = true;
    });
    agentOrder.forEach(function (id) {
      if (!seen[id]) {
        agentRows[id].remove();
        delete agentRows[id];
        delete agents[id];
      }
    });
    agentOrder = [];
    list.forEach(function (a) {
      var id = String(a.agent_id);
      if (agentRows[id]) {
        agentOrder.push(id);
        agentBody.appendChild(agentRows[id]);
        agents[id] = a;
        if (!a.call_id) dropMonitorsOf(id);
        fillAgent(agentRows[id], a);
      } else {
        upsertAgent(a);
      }
    });
    waiting = data.waiting || {};
    var seenQueues = {};
    (data.queues || []).forEach(function (item) {
      seenQueues[item.code] = true;
    });
    Object.keys(queueRows).forEach(function (code) {
      if (!seenQueues[code]) {
        queueRows[code].remove();
        delete queueRows[code];
        delete queues[code];
      }
    });
    (data.queues || []).forEach(function (item) {
      queues[item.code] = item;
    });
    (data.queues || []).forEach(function (item) {
      upsertQueue(item);
      queueBody.appendChild(queueRows[item.code]);
    });
    renderWaiting();
    renderSummary();
    root.setAttribute("data-snapshot", String(Date.now()));
  }

  function showError(data) {
    // errors go to every page of the user: show those of this page's requests only
    if (data.ref !== undefined && data.ref !== null && !refs[data.ref]) return;
    if ((data.ref === undefined || data.ref === null) && !T.actions[data.action]) return;
    var action = refs[data.ref] || data.action || "";
    var actionLabel = T.actions[action] || action;
    var text = T.errors[data.code] || data.message || data.code || "";
    showAlert(fmt(T.error_prefix, { action: actionLabel, message: text }));
  }

  function onLive(event) {
    var data = event.detail;
    if (!data || typeof data.type !== "string") return;
    switch (data.type) {
      case "cc.wall":
        applySnapshot(data);
        break;
      case "cc.agent":
        upsertAgent(data.agent);
        renderSummary();
        refreshTakeSelects();
        break;
      case "cc.queue":
        upsertQueue(data.queue);
        break;
      case "cc.monitoring":
        if (data.leg_id) {
          monitors[data.leg_id] = { leg_id: data.leg_id, agent_id: data.agent_id, mode: data.mode };
          renderMonitors();
        }
        break;
      case "cc.switch":
        if (data.up === false) setSwitchDown(true);
        else if (data.up === true) setSwitchDown(false);
        break;
      case "cc.error":
        showError(data);
        break;
      default:
        break;
    }
  }

  // --- what the supervisor does ------------------------------------------------------------------------

  function onAgentAction(event) {
    var button = event.target.closest("button[data-act]");
    if (!button || button.disabled) return;
    var row = button.closest("tr[data-agent-id]");
    var a = row && agents[row.getAttribute("data-agent-id")];
    if (!a) return;
    var act = button.getAttribute("data-act");
    var name = agentLabel(a);
    if (act === "listen" || act === "whisper" || act === "barge") {
      send("monitor", { agent_id: a.agent_id, mode: act, extension: extensionInput.value.trim() });
    } else if (act === "release") {
      if (window.confirm(fmt(T.confirm_release, { agent: name }))) send("force_release", { agent_id: a.agent_id });
    } else if (act === "pause") {
      var reason = pauseReason.value;
      var label = reasonNames[reason] || reason;
      if (window.confirm(fmt(T.confirm_pause, { agent: name, reason: label }))) {
        send("force_pause", { agent_id: a.agent_id, reason: reason });
      }
    } else if (act === "logout") {
      if (window.confirm(fmt(T.confirm_logout, { agent: name }))) send("force_logout", { agent_id: a.agent_id });
    } else if (act === "unlock") {
      send("unlock", { agent_id: a.agent_id });
    }
  }

  function onTake(event) {
    var button = event.target.closest("[data-take]");
    if (!button) return;
    var item = button.closest("[data-call-id]");
    var select = item.querySelector("[data-take-agent]");
    if (!select.value) {
      showAlert(T.pick_agent);
      return;
    }
    var a = agents[select.value];
    send("take", { call_id: item.getAttribute("data-call-id"), agent_id: a ? a.agent_id : Number(select.value) });
  }

  function onMonitorEnd(event) {
    var button = event.target.closest("[data-monitor-end]");
    if (!button) return;
    var leg = button.getAttribute("data-leg-id");
    if (send("monitor_end", { leg_id: leg })) {
      delete monitors[leg];
      renderMonitors();
    }
  }

  function reloadStats() {
    var section = root.querySelector("[data-stats]");
    if (!section || !window.htmx) return;
    var url = section.getAttribute("hx-get").split("?")[0];
    var code = filterQueue.value;
    if (code) url += "?queue=" + encodeURIComponent(code);
    window.htmx.ajax("GET", url, { target: section, swap: "outerHTML" });
  }

  function toggleLarge() {
    var large = !document.body.classList.contains("wall-large");
    setLarge(large);
    try {
      if (large && document.documentElement.requestFullscreen && !document.fullscreenElement) {
        var p = document.documentElement.requestFullscreen();
        if (p && p.catch) p.catch(function () {});
      } else if (!large && document.fullscreenElement && document.exitFullscreen) {
        var e = document.exitFullscreen();
        if (e && e.catch) e.catch(function () {});
      }
    } catch (err) {
      /* the large layout works without the browser's full screen */
    }
  }

  function setLarge(large) {
    document.body.classList.toggle("wall-large", large);
    var button = document.querySelector("[data-fullscreen]");
    if (!button) return;
    button.setAttribute("aria-pressed", large ? "true" : "false");
    button.querySelector("[data-fullscreen-on]").hidden = large;
    button.querySelector("[data-fullscreen-off]").hidden = !large;
  }

  function tick() {
    var now = Date.now();
    root.querySelectorAll("[data-since]").forEach(function (el) {
      paintTimer(el, now);
    });
  }

  // --- wiring -------------------------------------------------------------------------------------------

  document.addEventListener("hotline:live", onLive);
  document.addEventListener("hotline:live-open", askSnapshot);
  agentBody.addEventListener("click", onAgentAction);
  waitingList.addEventListener("click", onTake);
  monitorList.addEventListener("click", onMonitorEnd);
  filterState.addEventListener("change", applyFilters);
  filterQueue.addEventListener("change", function () {
    applyFilters();
    reloadStats();
  });
  root.querySelectorAll("[data-summary]").forEach(function (button) {
    button.addEventListener("click", function () {
      var state = button.getAttribute("data-summary");
      filterState.value = filterState.value === state ? "" : state;
      applyFilters();
    });
  });
  q("[data-alert-close]").addEventListener("click", function () {
    alertBox.hidden = true;
  });
  var fullscreenButton = document.querySelector("[data-fullscreen]");
  if (fullscreenButton) fullscreenButton.addEventListener("click", toggleLarge);
  document.addEventListener("fullscreenchange", function () {
    if (!document.fullscreenElement && document.body.classList.contains("wall-large")) setLarge(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.body.classList.contains("wall-large")) setLarge(false);
  });

  renderSummary();
  renderWaiting();
  window.setInterval(tick, 1000);
  askSnapshot();
})();
