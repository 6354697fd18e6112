/* Hotline 12345 — the test phone (测试话机).
 *
 * Places a simulated citizen's call through the page's one socket (notify/bell.html; protocol in
 * docs/desktop.md): "phone_call" starts it, the "cc.phone" answers carry its leg, state, the
 * prompts playing and who the caller hears; "phone_press" sends keys with that leg, and
 * "phone_hangup" ends it. One call at a time; when it has ended the next one may be placed.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-phone]");
  var configEl = document.getElementById("phone-config");
  if (!root || !configEl) return;
  var cfg = JSON.parse(configEl.textContent);
  var T = cfg.texts;
  var P = cfg.prompts;

  var REPLY_TIMEOUT_MS = 3000; // no cc.phone within this after dialling: the switch is not running
  var LOG_LIMIT = 300;
  var KEYS = "0123456789*#";

  var leg = null; // the current call's leg id
  var pastLegs = {}; // legs of the calls that ended: late news of them is ignored
  var state = "idle"; // idle / dialing / ringing / answered / ended
  var dialRef = null;
  var lastPlaying = "";
  var lastHears = "";
  var keysPressed = "";
  var replyTimer = null;
  var hangupTimer = null;
  var seq = 0;
  var refs = {};

  function q(selector) {
    return root.querySelector(selector);
  }
  var callerInput = q("[data-caller]");
  var calledSelect = q("[data-called]");
  var dialButton = q("[data-dial]");
  var hangupButton = q("[data-hangup]");
  var stateEl = q("[data-testid=phone-state]");
  var playingEl = q("[data-testid=phone-playing]");
  var hearsEl = q("[data-testid=phone-hears]");
  var keysEl = q("[data-keys]");
  var logEl = q("[data-testid=phone-log]");
  var alertBox = q("[data-testid=wall-alert]");
  var downBox = q("[data-testid=switch-down]");

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_m, key) {
      return values[key] === undefined || values[key] === null ? "" : String(values[key]);
    });
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // --- labels -------------------------------------------------------------------------------------

  function promptLabel(name) {
    name = String(name);
    if (P.names[name]) return P.names[name];
    var cut = name.indexOf(":");
    if (cut > 0) {
      var family = name.slice(0, cut);
      var value = name.slice(cut + 1);
      if (family === "status" && P.order_states[value]) value = P.order_states[value];
      if (P.families[family]) return fmt(P.families[family], { value: value });
    }
    return name;
  }

  function partyLabel(party) {
    party = String(party);
    var cut = party.indexOf(":");
    if (cut > 0) {
      var kind = party.slice(0, cut);
      if (P.parties[kind]) return fmt(P.parties[kind], { value: party.slice(cut + 1) });
    }
    return P.names[party] || party;
  }

  // --- screen -------------------------------------------------------------------------------------

  function log(text, kind) {
    var item = document.createElement("li");
    if (kind) item.className = "is-" + kind;
    var now = new Date();
    var time = document.createElement("time");
    time.textContent = pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" + pad(now.getSeconds());
    var span = document.createElement("span");
    span.textContent = text;
    item.appendChild(time);
    item.appendChild(span);
    logEl.appendChild(item);
    while (logEl.children.length > LOG_LIMIT) logEl.removeChild(logEl.firstElementChild);
    logEl.scrollTop = logEl.scrollHeight;
  }

  function showAlert(text) {
    q("[data-alert-text]").textContent = text;
    alertBox.hidden = false;
  }

  function setState(next) {
    var changed = next !== state;
    state = next;
    stateEl.setAttribute("data-state", next);
    stateEl.textContent = T.states[next] || next;
    var active = !!leg && (next === "ringing" || next === "answered");
    dialButton.disabled = next === "dialing" || active;
    hangupButton.disabled = !active;
    root.querySelectorAll("[data-key]").forEach(function (button) {
      button.disabled = !active;
    });
    if (changed && next !== "dialing" && next !== "idle") log(fmt(T.log_state, { value: T.states[next] || next }));
  }

  function showPlaying(list) {
    playingEl.textContent = "";
    list.forEach(function (name) {
      var item = document.createElement("li");
      item.setAttribute("data-prompt", String(name));
      item.textContent = promptLabel(name);
      playingEl.appendChild(item);
    });
    var key = JSON.stringify(list);
    if (key !== lastPlaying && list.length) {
      log(fmt(T.log_heard, { value: list.map(promptLabel).join(" → ") }), "prompt");
    }
    lastPlaying = key;
  }

  function showHears(list) {
    var text = list.length ? list.map(partyLabel).join("、") : T.nothing;
    hearsEl.textContent = text;
    var key = JSON.stringify(list);
    if (key !== lastHears && list.length) log(fmt(T.log_hears, { value: text }), "prompt");
    lastHears = key;
  }

  // --- talking to the switch ------------------------------------------------------------------------

  function send(action, args) {
    seq += 1;
    var message = { type: "cc", action: action, ref: "phone-" + seq };
    refs[message.ref] = action;
    Object.keys(args).forEach(function (key) {
      message[key] = args[key];
    });
    var live = window.hotlineLive;
    if (!live || !live.send(message)) {
      showAlert(T.offline);
      return null;
    }
    return message.ref;
  }

  function dial() {
    if (state === "dialing" || (leg && state !== "ended")) return;
    var caller = callerInput.value.trim();
    var called = calledSelect.value;
    if (!caller) {
      showAlert(T.no_caller);
      callerInput.focus();
      return;
    }
    if (!called) {
      showAlert(T.no_called);
      return;
    }
    alertBox.hidden = true;
    var ref = send("phone_call", { caller: caller, called: called });
    if (!ref) return;
    dialRef = ref;
    leg = null;
    keysPressed = "";
    keysEl.textContent = "";
    lastPlaying = "";
    lastHears = "";
    showPlaying([]);
    hearsEl.textContent = "";
    log(fmt(T.log_dial, { caller: caller, called: called }));
    setState("dialing");
    window.clearTimeout(replyTimer);
    replyTimer = window.setTimeout(function () {
      if (state === "dialing") {
        downBox.hidden = false;
        dialRef = null;
        setState("idle");
      }
    }, REPLY_TIMEOUT_MS);
  }

  function press(key) {
    if (!leg || (state !== "ringing" && state !== "answered")) return;
    if (!send("phone_press", { leg_id: leg, keys: key })) return;
    keysPressed += key;
    keysEl.textContent = keysPressed;
    log(fmt(T.log_key, { value: key }), "key");
    var button = root.querySelector('[data-key="' + key + '"]');
    if (button) {
      button.classList.add("is-pressed");
      window.setTimeout(function () {
        button.classList.remove("is-pressed");
      }, 150);
    }
  }

  function hangup() {
    if (!leg || state === "ended") return;
    var hungLeg = leg;
    if (!send("phone_hangup", { leg_id: hungLeg })) return;
    window.clearTimeout(hangupTimer);
    hangupTimer = window.setTimeout(function () {
      // the switch said nothing: end the call on this side so the next one can be placed
      if (leg === hungLeg && state !== "ended") {
        pastLegs[hungLeg] = true;
        leg = null;
        setState("ended");
      }
    }, REPLY_TIMEOUT_MS);
  }

  function onPhone(data) {
    if (data.leg_id && pastLegs[data.leg_id]) return;
    var mine = data.leg_id && data.leg_id === leg;
    var answersDial = !leg && state === "dialing" && (!data.ref || data.ref === dialRef);
    if (!mine && !answersDial) return;
    window.clearTimeout(replyTimer);
    downBox.hidden = true;
    dialRef = null;
    leg = data.leg_id || leg;
    root.setAttribute("data-leg-id", leg || "");
    showPlaying(data.playing || []);
    showHears(data.hears || []);
    if (data.state === "ended") {
      window.clearTimeout(hangupTimer);
      if (leg) pastLegs[leg] = true;
      leg = null;
      root.setAttribute("data-leg-id", "");
    }
    setState(data.state || "ringing");
  }

  function onLive(event) {
    var data = event.detail;
    if (!data || typeof data.type !== "string") return;
    if (data.type === "cc.phone") {
      onPhone(data);
    } else if (data.type === "cc.error") {
      // errors go to every page of the user: show those of this page's requests only
      if (data.ref !== undefined && data.ref !== null && !refs[data.ref]) return;
      var action = refs[data.ref] || data.action || "";
      if (action.indexOf("phone_") !== 0) return;
      showAlert(
        fmt(T.error_prefix, {
          action: T.actions[action] || action,
          message: T.errors[data.code] || data.message || data.code || "",
        })
      );
      if (action === "phone_call" && state === "dialing") {
        window.clearTimeout(replyTimer);
        dialRef = null;
        setState("idle");
      }
    } else if (data.type === "cc.switch" && data.up === false) {
      downBox.hidden = false;
    }
  }

  // --- wiring ---------------------------------------------------------------------------------------

  dialButton.addEventListener("click", dial);
  hangupButton.addEventListener("click", hangup);
  root.querySelectorAll("[data-key]").forEach(function (button) {
    button.addEventListener("click", function () {
      press(button.getAttribute("data-key"));
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || (target && target.isContentEditable)) return;
    if (KEYS.indexOf(event.key) >= 0 && event.key.length === 1) {
      event.preventDefault();
      press(event.key);
    } else if (event.key === "Enter" && !leg && state !== "dialing") {
      // Enter outside the fields dials, as on a phone's green key
      if (tag !== "BUTTON") dial();
    }
  });
  q("[data-alert-close]").addEventListener("click", function () {
    alertBox.hidden = true;
  });
  q("[data-log-clear]").addEventListener("click", function () {
    logEl.textContent = "";
  });
  document.addEventListener("hotline:live", onLive);
  setState("idle");
  showHears([]);
})();
