/* Hotline 12345 — the agent desktop (坐席工作台). No build step, no external requests.

   Speaks the contact centre's protocol (docs/desktop.md) over the page's one live socket, opened by
   notify/bell.html: commands go out as {"type": "cc", "action": …} through window.hotlineLive.send,
   events come in as "hotline:live" document events.

   - The soft-phone bar follows the agent's own cc.agent / cc.state messages: the state and its
     running time, the caller, and only the buttons that state allows.
   - No cc.state within 3 s of asking (at start and at every reconnection): "switch not connected".
   - cc.offer pops the caller: number, marks, queue, wait, and the profile with the last orders
     (workorders:caller, through htmx). A transferred call's draft fills the intake form.
   - While on a call the intake form travels with the call: a "draft" ~500 ms after typing stops;
     a saved order is linked to the call ("link_order").
   - The callback list claims a row on the server, then dials it here ("callback_dial").
   - The intake form carries the call the agent is on or wrapping up (hidden "call_id", set as the
     form is sent): the server links the new order to that call and to its recordings.
*/
(function () {
  "use strict";

  var root = document.querySelector("[data-desk]");
  if (!root) return;

  var T = JSON.parse(document.getElementById("desk-texts").textContent);
  var ME = parseInt(root.getAttribute("data-agent-id"), 10);
  var SWITCH_WAIT_MS = 3000;
  var DRAFT_DELAY_MS = 500;
  var ON_CALL = ["talking", "hold"];
  var IDLE = ["ready", "paused", "wrap_up"];
  var TEXT_FIELDS = ["citizen_phone", "citizen_name", "citizen_id_number", "content", "title", "address", "direct_answer"];
  var RADIO_FIELDS = ["request_type", "urgency"];
  var CHECK_FIELDS = ["anonymous", "confidential", "complex_case"];
  var PICKER_FIELDS = ["category", "region"];

  // The server's clock minus this workstation's, from the time the page was rendered. The page's
  // own load time is in it too, so only a real difference (a workstation's clock set wrong) counts.
  var serverSkew = Date.parse(root.getAttribute("data-server-now")) - Date.now();
  if (isNaN(serverSkew) || Math.abs(serverSkew) < 5000) serverSkew = 0;

  var desk = {
    agent: null, // the last cc.agent body for this user (null: unknown or not an agent)
    known: false, // a cc.state or cc.agent has arrived
    since: null, // ms, server clock
    consulting: false,
    muted: false,
    call: null, // {call_id, caller, queue}
    switchTimer: null,
    draftTimer: null,
    dialogMode: "transfer",
  };

  function $(selector, scope) {
    return (scope || root).querySelector(selector);
  }

  function $all(selector, scope) {
    return Array.prototype.slice.call((scope || root).querySelectorAll(selector));
  }

  function format(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function phase() {
    if (!desk.agent) return "none";
    return desk.agent.state || "none";
  }

  function onCall() {
    return ON_CALL.indexOf(phase()) >= 0;
  }

  // --- Talking to the switch ----------------------------------------------------------------------

  // Every command carries a ref: a cc.error answering another page of the same user (the wall,
  // the test phone) names a ref this page did not send, and is not shown here.
  var refs = {};
  var seq = 0;
  var DESK_ACTIONS = [
    "state", "login", "ready", "logout", "unlock", "pause", "answer", "hangup", "hold", "unhold", "mute",
    "transfer", "consult", "consult_complete", "consult_cancel", "conference", "dial", "callback_dial",
    "emergency", "draft", "link_order",
  ];

  function send(action, args, quiet) {
    seq += 1;
    var message = { type: "cc", action: action, ref: "desk-" + seq };
    refs[message.ref] = quiet ? "" : action; // errors of background messages are not shown
    Object.keys(args || {}).forEach(function (key) {
      message[key] = args[key];
    });
    var live = window.hotlineLive;
    var sent = !!(live && typeof live.send === "function" && live.send(message));
    if (!sent && !quiet) showAlert(T.errors.not_connected);
    return sent;
  }

  function askState() {
    window.clearTimeout(desk.switchTimer);
    send("state", {}, true);
    desk.switchTimer = window.setTimeout(function () {
      showSwitchDown(true);
    }, SWITCH_WAIT_MS);
  }

  function showSwitchDown(down) {
    $("[data-switch-down]").hidden = !down;
    root.classList.toggle("is-switch-down", down);
  }

  // --- The alert ----------------------------------------------------------------------------------

  function showAlert(text) {
    var alert = $("[data-desk-alert]");
    $("[data-desk-alert-text]", alert).textContent = text;
    alert.hidden = false;
  }

  function errorText(error) {
    var code = error.code || "";
    return T.errors[code] || error.message || code;
  }

  // --- The soft-phone bar -------------------------------------------------------------------------

  function reasonName(code) {
    var option = $all("[data-sp-reason-pick] option").filter(function (o) {
      return o.value === code;
    })[0];
    return option ? option.textContent : code;
  }

  function stateLabel() {
    var p = phase();
    var agent = desk.agent;
    if (p === "none") return desk.known ? T.not_in_queue : T.states.logged_out;
    if (p === "paused" && agent.reason === "login") return T.states.login;
    return T.states[p] || p;
  }

  function render() {
    var p = phase();
    var bar = $("[data-softphone]");
    bar.setAttribute("data-state", p);
    bar.className = "softphone is-" + p.replace(/_/g, "-");
    $("[data-sp-state]").textContent = stateLabel();

    var reason = $("[data-sp-reason]");
    var paused = p === "paused" && desk.agent.reason && desk.agent.reason !== "login";
    reason.hidden = !paused;
    reason.textContent = paused ? "(" + reasonName(desk.agent.reason) + ")" : "";

    var callBox = $("[data-sp-call]");
    var caller = desk.agent && desk.agent.caller;
    callBox.hidden = !caller;
    $("[data-sp-caller]").textContent = caller || "";
    $("[data-sp-queue]").textContent = queueName(desk.agent && desk.agent.queue);
    $("[data-sp-muted]").hidden = !(desk.muted && onCall());

    $all("[data-show-in]").forEach(function (el) {
      var states = el.getAttribute("data-show-in").split(/\s+/);
      var shown = states.indexOf(p) >= 0;
      if (shown && desk.consulting && el.hasAttribute("data-hide-consulting")) shown = false;
      el.hidden = !shown;
    });
    $all("[data-show-consulting]").forEach(function (el) {
      el.hidden = !(desk.consulting && onCall());
    });
    var mute = $("[data-cc=mute]");
    mute.textContent = desk.muted ? T.unmute : T.mute;
    mute.setAttribute("aria-pressed", desk.muted ? "true" : "false");
    $all("[data-needs-idle]").forEach(function (el) {
      el.disabled = IDLE.indexOf(p) < 0;
    });
    tick();
  }

  function tick() {
    var timer = $("[data-sp-timer]");
    if (desk.since === null || phase() === "none") {
      timer.textContent = "00:00";
      return;
    }
    var seconds = Math.max(0, Math.floor((Date.now() + serverSkew - desk.since) / 1000));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var text = (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    timer.textContent = h ? h + ":" + text : text;
  }

  function setAgent(agent) {
    var before = phase();
    desk.agent = agent || null;
    desk.known = true;
    var since = agent && agent.since ? Date.parse(agent.since) : NaN;
    desk.since = isNaN(since) ? null : since;
    var now = phase();
    if (ON_CALL.indexOf(now) < 0) {
      desk.consulting = false;
      desk.muted = false;
    }
    if (agent && agent.caller && (now === "ringing" || ON_CALL.indexOf(now) >= 0)) {
      if (!desk.call || desk.call.call_id !== agent.call_id) {
        popCall({ call_id: agent.call_id, caller: agent.caller, queue: agent.queue, marks: [] });
      } else if (now !== "ringing") {
        popTitle(T.on_call);
      }
    } else if (now === "wrap_up" && desk.call) {
      popTitle(T.ended);
    } else if (now !== "wrap_up" && before !== now) {
      desk.call = null;
      hidePop();
    }
    render();
  }

  // --- The screen pop -----------------------------------------------------------------------------

  function popTitle(text) {
    $("[data-pop-title]").textContent = text;
  }

  function hidePop() {
    $("[data-screen-pop]").hidden = true;
  }

  // A queue's name for its code (the switch speaks codes).
  function queueName(code) {
    if (!code) return "";
    return (T.queue_names && T.queue_names[code]) || code;
  }

  function popCall(offer) {
    var pop = $("[data-screen-pop]");
    var isNew = !desk.call || desk.call.call_id !== offer.call_id;
    desk.call = { call_id: offer.call_id, caller: offer.caller || "", queue: offer.queue || "" };
    popTitle(phase() === "ringing" || offer.ringing ? T.ringing : T.on_call);
    $("[data-pop-caller]").textContent = offer.caller || "";
    $("[data-pop-queue]").textContent = queueName(offer.queue);
    $("[data-pop-wait]").textContent =
      typeof offer.wait_s === "number" ? format(T.wait, { seconds: Math.round(offer.wait_s) }) : "";
    var marks = $("[data-pop-marks]");
    marks.textContent = "";
    (offer.marks || []).forEach(function (mark) {
      var badge = document.createElement("span");
      badge.className = "badge desk-mark desk-mark--" + mark;
      badge.setAttribute("data-mark", mark);
      var label = T.marks[mark] || mark;
      if (mark === "repeat" && offer.info && offer.info.repeat_within_hours) {
        label += " · " + offer.info.repeat_within_hours + "h";
      }
      badge.textContent = label;
      marks.appendChild(badge);
    });
    pop.hidden = false;
    if (isNew && offer.caller) {
      var form = intakeForm();
      var phone = form && form.elements.namedItem("citizen_phone");
      // The caller's number goes in unless the form holds someone's unsaved request.
      if (phone && (!phone.value || formIsEmpty())) phone.value = offer.caller;
      loadCaller(offer.caller);
    }
  }

  function loadCaller(number) {
    if (!number || !window.htmx) return;
    var url = root.getAttribute("data-caller-url") + "?phone=" + encodeURIComponent(number);
    window.htmx.ajax("GET", url, { target: "#caller-panel", swap: "innerHTML" });
  }

  function onOffer(offer) {
    var draft = offer.draft || {};
    var transferred = Object.keys(draft).length > 0;
    offer.ringing = true;
    if (transferred || (desk.call && desk.call.call_id !== offer.call_id)) {
      // A new call: the form starts from the call's draft, or from the caller's number alone.
      resetForm();
    }
    popCall(offer);
    if (transferred) {
      fillForm(draft);
      if (!draft.citizen_phone) setField("citizen_phone", offer.caller || "");
    }
    $("[data-draft-notice]").hidden = !transferred;
  }

  // --- The intake form and its draft --------------------------------------------------------------

  function intakeForm() {
    return document.querySelector("[data-desk-form]");
  }

  function pickerOf(form, name) {
    var hidden = form.querySelector("input.picker-value[name=" + name + "]");
    return hidden ? { hidden: hidden, picker: hidden.closest("[data-picker]") } : null;
  }

  function draftOf(form) {
    var draft = {};
    TEXT_FIELDS.forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) draft[name] = field.value;
    });
    RADIO_FIELDS.forEach(function (name) {
      var checked = form.querySelector("input[type=radio][name=" + name + "]:checked");
      draft[name] = checked ? checked.value : "";
    });
    CHECK_FIELDS.forEach(function (name) {
      var box = form.querySelector("input[type=checkbox][name=" + name + "]");
      if (box) draft[name] = box.checked;
    });
    PICKER_FIELDS.forEach(function (name) {
      var p = pickerOf(form, name);
      if (!p) return;
      draft[name] = p.hidden.value;
      draft[name + "_label"] = p.hidden.value ? p.picker.querySelector(".picker-input").value : "";
    });
    return draft;
  }

  function setField(name, value) {
    var form = intakeForm();
    var field = form && form.elements.namedItem(name);
    if (field && "value" in field) field.value = value == null ? "" : String(value);
  }

  function fillForm(draft) {
    var form = intakeForm();
    if (!form) return;
    TEXT_FIELDS.forEach(function (name) {
      if (name in draft) setField(name, draft[name]);
    });
    RADIO_FIELDS.forEach(function (name) {
      if (!(name in draft)) return;
      form.querySelectorAll("input[type=radio][name=" + name + "]").forEach(function (radio) {
        radio.checked = radio.value === String(draft[name]);
      });
    });
    CHECK_FIELDS.forEach(function (name) {
      var box = form.querySelector("input[type=checkbox][name=" + name + "]");
      if (box && name in draft) box.checked = !!draft[name];
    });
    PICKER_FIELDS.forEach(function (name) {
      var p = pickerOf(form, name);
      if (!p || !(name in draft)) return;
      var value = draft[name] ? String(draft[name]) : "";
      p.hidden.value = value;
      p.picker.querySelector(".picker-input").value = value ? String(draft[name + "_label"] || value) : "";
      p.picker.classList.toggle("has-value", !!value);
      p.picker.classList.remove("is-invalid");
    });
  }

  function resetForm() {
    var form = intakeForm();
    if (!form) return;
    form.reset();
    // reset() brings back the values the page was rendered with: empty them for a new call.
    TEXT_FIELDS.forEach(function (name) {
      setField(name, "");
    });
    PICKER_FIELDS.forEach(function (name) {
      var p = pickerOf(form, name);
      if (!p) return;
      p.hidden.value = "";
      p.picker.querySelector(".picker-input").value = "";
      p.picker.classList.remove("has-value", "is-invalid");
    });
    clearVoicemail();
  }

  function formIsEmpty() {
    var draft = intakeForm() ? draftOf(intakeForm()) : {};
    return !draft.content && !draft.title && !draft.citizen_name;
  }

  function scheduleDraft() {
    window.clearTimeout(desk.draftTimer);
    if (!onCall()) return;
    desk.draftTimer = window.setTimeout(sendDraft, DRAFT_DELAY_MS);
  }

  function sendDraft() {
    window.clearTimeout(desk.draftTimer);
    var form = intakeForm();
    if (!form || !onCall()) return;
    send("draft", { draft: draftOf(form) }, true);
  }

  function fillFromCall(call) {
    // A call already in progress when the page (re)loads: its draft, if the form is still empty.
    if (call && call.draft && Object.keys(call.draft).length && formIsEmpty()) fillForm(call.draft);
  }

  // --- The call the form is linked to --------------------------------------------------------------

  function currentCallId() {
    return (desk.call && desk.call.call_id) || (desk.agent && desk.agent.call_id) || "";
  }

  // The hidden call_id field of the intake form, created on first use (the form is re-rendered
  // after each order). Empty while a voicemail is taken in: that order belongs to the voicemail.
  function syncCallField() {
    var form = intakeForm();
    if (!form) return;
    var field = form.querySelector("input[data-desk-call]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "call_id";
      field.setAttribute("data-desk-call", "");
      form.appendChild(field);
    }
    var voicemail = form.querySelector("[data-desk-voicemail]");
    field.value = voicemail && voicemail.value ? "" : currentCallId();
  }

  // Before htmx reads the form (its own submit listener is on the form; this one runs first).
  document.addEventListener(
    "submit",
    function (event) {
      if (event.target === intakeForm()) syncCallField();
    },
    true
  );

  // --- Voicemail being taken in -------------------------------------------------------------------

  function clearVoicemail() {
    var form = intakeForm();
    var field = form && form.querySelector("[data-desk-voicemail]");
    if (field) field.value = "";
    $("[data-voicemail-notice]").hidden = true;
  }

  function takeVoicemail(detail) {
    var form = intakeForm();
    if (!form) return;
    resetForm();
    form.querySelector("[data-desk-voicemail]").value = String(detail.voicemail_id);
    setField("citizen_phone", detail.number);
    loadCaller(detail.number);
    $("[data-voicemail-text]").textContent = format(T.voicemail, { number: detail.number });
    $("[data-voicemail-notice]").hidden = false;
    $("[data-draft-notice]").hidden = true;
    var content = form.elements.namedItem("content");
    if (content) content.focus();
  }

  // --- The transfer / consult / conference dialog ---------------------------------------------------

  function openDialog(mode) {
    var dialog = $("[data-desk-dialog]");
    desk.dialogMode = mode;
    $("[data-desk-dialog-title]").textContent = T[mode + "_title"];
    $("[data-desk-dialog-submit]").textContent = T[mode];
    $("[data-desk-dialog-picks]").hidden = mode === "conference";
    $all("[data-pick-target]", dialog).forEach(function (select) {
      select.value = "";
    });
    $("[data-desk-target]").value = "";
    $("[data-desk-dialog-error]").hidden = true;
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    $("[data-desk-target]").focus();
  }

  function closeDialog() {
    var dialog = $("[data-desk-dialog]");
    if (typeof dialog.close === "function") dialog.close();
    else dialog.removeAttribute("open");
  }

  function submitDialog() {
    var value = $("[data-desk-target]").value.trim();
    var error = $("[data-desk-dialog-error]");
    if (!value) {
      error.textContent = desk.dialogMode === "conference" ? T.number_needed : T.target_needed;
      error.hidden = false;
      return;
    }
    if (desk.dialogMode === "conference") {
      send("conference", { number: value.replace(/^tel:/, "") });
    } else {
      var target = /^[0-9+*#]+$/.test(value) ? "tel:" + value : value;
      if (send(desk.dialogMode, { target: target }) && desk.dialogMode === "consult") {
        desk.consulting = true;
      }
    }
    closeDialog();
    render();
  }

  // --- Buttons ------------------------------------------------------------------------------------

  function command(button) {
    var action = button.getAttribute("data-cc");
    var args = {};
    if (action === "login") {
      args.extension = $("[data-sp-extension]").value.trim();
    } else if (action === "pause") {
      args.reason = $("[data-sp-reason-pick]").value;
    } else if (action === "mute") {
      args.muted = !desk.muted;
    } else if (action === "dial") {
      args.number = $("[data-sp-dial]").value.trim();
      if (!args.number) {
        showAlert(T.number_needed);
        return;
      }
    } else if (action === "hangup") {
      if ($("[data-sp-survey]").checked) args.survey = true;
    } else if (action === "emergency") {
      args.service = button.getAttribute("data-service");
    }
    if (!send(action, args)) return;
    if (action === "mute") desk.muted = args.muted;
    if (action === "consult_complete" || action === "consult_cancel") desk.consulting = false;
    if (action === "dial") $("[data-sp-dial]").value = "";
    if (action === "hangup") $("[data-sp-survey]").checked = false;
    render();
  }

  root.addEventListener("click", function (event) {
    var target = event.target;
    var button = target.closest("[data-cc]");
    if (button && !button.disabled) {
      command(button);
      return;
    }
    var opener = target.closest("[data-open-dialog]");
    if (opener) {
      openDialog(opener.getAttribute("data-open-dialog"));
      return;
    }
    if (target.closest("[data-desk-dialog-cancel]")) {
      closeDialog();
      return;
    }
    if (target.closest("[data-desk-alert-close]")) {
      $("[data-desk-alert]").hidden = true;
      return;
    }
    if (target.closest("[data-voicemail-cancel]")) clearVoicemail();
  });

  $("[data-desk-dialog-form]").addEventListener("submit", function (event) {
    event.preventDefault();
    submitDialog();
  });

  root.addEventListener("change", function (event) {
    var pick = event.target.closest("[data-pick-target]");
    if (pick) {
      if (pick.value) $("[data-desk-target]").value = pick.getAttribute("data-pick-target") + ":" + pick.value;
      return;
    }
    if (event.target.closest("[data-desk-form]")) scheduleDraft();
  });

  root.addEventListener("input", function (event) {
    if (event.target.closest("[data-desk-form]") && !event.target.classList.contains("picker-input")) {
      scheduleDraft();
    }
  });

  // Enter in the soft-phone's inputs acts on them (they are not in a form).
  root.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    if (event.target.matches("[data-sp-extension]")) command($("[data-cc=login]"));
    else if (event.target.matches("[data-sp-dial]")) command($("[data-cc=dial]"));
  });

  // --- htmx: the intake answer and the callback list ----------------------------------------------

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if ((status === 422 || status === 409) && root.contains(event.detail.target)) {
      event.detail.shouldSwap = true; // the form with its errors, the list with its problem
      event.detail.isError = false;
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target) return;
    if (target.id === "desk-intake") {
      var done = target.querySelector("[data-taken-number]");
      if (done) {
        var number = done.getAttribute("data-taken-number");
        $("[data-last-order]").value = number;
        // On a call, or in its wrap-up: the order joins the call's record.
        if (desk.call || (desk.agent && desk.agent.call_id)) send("link_order", { number: number }, true);
        $("[data-draft-notice]").hidden = true;
        $("[data-voicemail-notice]").hidden = true;
        sendDraft(); // the call now carries the next (empty) form, not the order just saved
      }
    }
    if (target.id === "desk-callbacks") render();
  });

  document.body.addEventListener("desk:dial", function (event) {
    var d = event.detail || {};
    if (d.number) send("callback_dial", { callback_id: d.callback_id, number: d.number });
  });

  document.body.addEventListener("desk:voicemail", function (event) {
    var d = event.detail || {};
    if (d.number) takeVoicemail(d);
  });

  // --- Events from the switch ---------------------------------------------------------------------

  function mine(id) {
    return id === undefined || id === null || parseInt(id, 10) === ME;
  }

  function syncPauseReasons(reasons) {
    var select = $("[data-sp-reason-pick]");
    if (!reasons || !reasons.length) return;
    var chosen = select.value;
    select.textContent = "";
    reasons.forEach(function (r) {
      var option = document.createElement("option");
      option.value = r.code;
      option.textContent = r.name;
      select.appendChild(option);
    });
    if (chosen) select.value = chosen;
    if (!select.value && select.options.length) select.selectedIndex = 0;
  }

  function onMessage(data) {
    if (!data || typeof data !== "object" || typeof data.type !== "string") return;
    switch (data.type) {
      case "cc.state":
        window.clearTimeout(desk.switchTimer);
        showSwitchDown(false);
        syncPauseReasons(data.pause_reasons);
        setAgent(data.agent);
        if (data.call) {
          popCall({ call_id: data.call.call_id, caller: data.call.caller, queue: data.call.queue, marks: [] });
          fillFromCall(data.call);
        }
        break;
      case "cc.switch":
        showSwitchDown(data.up === false);
        break;
      case "cc.agent":
        if (data.agent && mine(data.agent.agent_id)) setAgent(data.agent);
        break;
      case "cc.offer":
        if (data.offer && mine(data.offer.agent_id)) onOffer(data.offer);
        break;
      case "cc.offer_ended":
        if (mine(data.agent_id) && desk.call && data.call_id === desk.call.call_id) {
          if (data.answered) {
            popTitle(T.on_call);
          } else {
            desk.call = null;
            hidePop();
            $("[data-draft-notice]").hidden = true;
          }
        }
        break;
      case "cc.call":
        if (mine(data.agent_id)) fillFromCall(data);
        break;
      case "cc.callbacks":
        if (window.htmx) window.htmx.trigger(document.body, "desk:callbacks");
        break;
      case "cc.error":
        if (data.ref !== undefined && data.ref !== null ? !refs[data.ref] : DESK_ACTIONS.indexOf(data.action) < 0) {
          break; // an answer to another page
        }
        if (data.action === "consult") desk.consulting = false;
        showAlert(errorText(data));
        render();
        break;
      default:
        break;
    }
  }

  document.addEventListener("hotline:live", function (event) {
    onMessage(event.detail);
  });
  document.addEventListener("hotline:live-open", askState);

  render();
  window.setInterval(tick, 1000);
  // The socket may have opened before this script ran: ask now; the 3 s wait starts either way.
  askState();
})();
