/* Hotline 12345 — keyboard behaviour of the work-order screens. No build step, no external requests.

   - Search pickers ([data-picker]): type to search (htmx), ↑/↓ to move, Enter or Tab to pick, Esc to close.
   - Forms with [data-keyboard]: Enter in a one-line field moves to the next field instead of submitting;
     Ctrl+Enter (⌘+Enter) submits with the form's [data-default-submit] button, or with the button named
     by the closest [data-ctrl-enter-button] around the focus.
   - [data-radio-keys]: digits 1–9 pick the n-th choice.
   - The caller's profile, when it arrives, fills an empty name field.
*/
(function () {
  "use strict";

  // --- Pickers -------------------------------------------------------------------------------------

  function pickerOf(el) {
    return el && el.closest ? el.closest("[data-picker]") : null;
  }

  function parts(picker) {
    return {
      input: picker.querySelector(".picker-input"),
      list: picker.querySelector(".picker-list"),
      value: picker.querySelector(".picker-value"),
      chips: picker.querySelector(".picker-chips"),
      multiple: picker.hasAttribute("data-multiple"),
    };
  }

  function options(picker) {
    return Array.prototype.slice.call(picker.querySelectorAll(".picker-list [role=option]"));
  }

  function isOpen(picker) {
    return !parts(picker).list.hidden;
  }

  function openList(picker) {
    var p = parts(picker);
    p.list.hidden = false;
    picker.classList.add("is-open");
    p.input.setAttribute("aria-expanded", "true");
  }

  function closeList(picker) {
    var p = parts(picker);
    p.list.hidden = true;
    picker.classList.remove("is-open");
    p.input.setAttribute("aria-expanded", "false");
    p.input.removeAttribute("aria-activedescendant");
  }

  function activeIndex(picker) {
    var opts = options(picker);
    for (var i = 0; i < opts.length; i++) {
      if (opts[i].classList.contains("is-active")) return i;
    }
    return -1;
  }

  function setActive(picker, index) {
    var opts = options(picker);
    if (!opts.length) return;
    index = (index + opts.length) % opts.length;
    opts.forEach(function (opt, i) {
      var on = i === index;
      opt.classList.toggle("is-active", on);
      opt.setAttribute("aria-selected", on ? "true" : "false");
    });
    parts(picker).input.setAttribute("aria-activedescendant", opts[index].id);
    opts[index].scrollIntoView({ block: "nearest" });
  }

  function addChip(picker, value, label) {
    var p = parts(picker);
    var exists = p.chips.querySelector('[data-value="' + value.replace(/"/g, "") + '"]');
    if (exists) return;
    var chip = document.createElement("span");
    chip.className = "picker-chip";
    chip.setAttribute("data-value", value);
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = picker.getAttribute("data-name");
    hidden.value = value;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "picker-chip-x";
    remove.tabIndex = -1;
    remove.setAttribute("aria-label", "×");
    remove.textContent = "×";
    chip.appendChild(hidden);
    chip.appendChild(document.createTextNode(label));
    chip.appendChild(remove);
    p.chips.appendChild(chip);
  }

  function choose(picker, option) {
    var p = parts(picker);
    var value = option.getAttribute("data-value");
    var label = option.getAttribute("data-label");
    if (p.multiple) {
      addChip(picker, value, label);
      p.input.value = "";
    } else {
      p.value.value = value;
      p.input.value = label;
      picker.classList.add("has-value");
    }
    picker.classList.remove("is-invalid");
    picker.removeAttribute("data-dirty");
    closeList(picker);
    (p.value || p.input).dispatchEvent(new Event("change", { bubbles: true }));
  }

  function clearPicker(picker) {
    var p = parts(picker);
    if (p.value) p.value.value = "";
    p.input.value = "";
    picker.classList.remove("has-value", "is-invalid");
    closeList(picker);
    p.input.focus();
  }

  function pickerKey(event, picker) {
    var p = parts(picker);
    var open = isOpen(picker);
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!open || !options(picker).length) {
          window.htmx && window.htmx.trigger(p.input, "picker-open");
        } else {
          setActive(picker, activeIndex(picker) + 1);
        }
        return true;
      case "ArrowUp":
        if (open) {
          event.preventDefault();
          setActive(picker, activeIndex(picker) - 1);
        }
        return true;
      case "Enter":
        if (event.ctrlKey || event.metaKey) return false; // the form's Ctrl+Enter
        event.preventDefault(); // Enter never submits from a picker
        if (open && activeIndex(picker) >= 0) {
          choose(picker, options(picker)[activeIndex(picker)]);
        } else if (!open) {
          moveNext(p.input);
        }
        return true;
      case "Tab":
        if (open && picker.hasAttribute("data-dirty") && activeIndex(picker) >= 0) {
          choose(picker, options(picker)[activeIndex(picker)]);
        }
        closeList(picker);
        return true;
      case "Escape":
        if (open) {
          event.preventDefault();
          event.stopPropagation();
          closeList(picker);
        }
        return true;
      case "Backspace":
        if (p.multiple && !p.input.value && p.chips.lastElementChild) {
          p.chips.removeChild(p.chips.lastElementChild);
        }
        return false;
      default:
        return false;
    }
  }

  document.addEventListener("input", function (event) {
    var picker = pickerOf(event.target);
    if (!picker || !event.target.classList.contains("picker-input")) return;
    var p = parts(picker);
    picker.setAttribute("data-dirty", "");
    if (!p.multiple) {
      p.value.value = "";
      picker.classList.remove("has-value");
    }
  });

  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest(".picker-list [role=option]");
    if (option) {
      event.preventDefault(); // keep the focus in the input
      choose(pickerOf(option), option);
      return;
    }
    var chipX = event.target.closest && event.target.closest(".picker-chip-x");
    if (chipX) {
      event.preventDefault();
      chipX.parentNode.parentNode.removeChild(chipX.parentNode);
      return;
    }
    var clear = event.target.closest && event.target.closest(".picker-clear");
    if (clear) {
      event.preventDefault();
      clearPicker(pickerOf(clear));
    }
  });

  document.addEventListener("focusout", function (event) {
    var picker = pickerOf(event.target);
    if (!picker || !event.target.classList.contains("picker-input")) return;
    var next = event.relatedTarget;
    if (next && picker.contains(next)) return;
    closeList(picker);
    var p = parts(picker);
    if (!p.multiple && p.input.value && !p.value.value) picker.classList.add("is-invalid");
  });

  // A button with data-swap-errors shows its 409/422 answer (a line of text) like a 200 one.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if ((status === 409 || status === 422) && elt && elt.hasAttribute("data-swap-errors")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target) return;
    if (target.classList && target.classList.contains("picker-list")) {
      var picker = pickerOf(target);
      if (picker && document.activeElement === parts(picker).input) {
        openList(picker);
        if (options(picker).length) setActive(picker, 0);
      }
    }
    if (target.id === "caller-panel") fillFromProfile(target);
  });

  // --- Forms: Enter moves on, Ctrl+Enter submits ---------------------------------------------------

  var FIELDS = "input:not([type=hidden]):not([disabled]):not([tabindex='-1']), select:not([disabled]), textarea:not([disabled]), button[type=submit]";

  // The fields in order, one entry per radio group (Tab enters a group once, too).
  function focusables(form) {
    var groups = {};
    return Array.prototype.filter.call(form.querySelectorAll(FIELDS), function (f) {
      if (f.offsetParent === null) return false;
      if (f.type === "radio") {
        if (groups[f.name]) return false;
        groups[f.name] = true;
      }
      return true;
    });
  }

  function moveNext(el) {
    var form = el.form || el.closest("form");
    if (!form) return;
    var list = focusables(form);
    var at = list.indexOf(el);
    if (el.type === "radio") {
      at = list.findIndex(function (f) { return f.type === "radio" && f.name === el.name; });
    }
    var next = list[at + 1];
    if (!next || next.type === "submit") return;
    if (next.type === "radio") {
      var checked = form.querySelector('input[type=radio][name="' + next.name + '"]:checked');
      (checked || next).focus();
    } else {
      next.focus();
    }
  }

  function submitWith(form, scopeEl) {
    var scope = scopeEl && scopeEl.closest("[data-ctrl-enter-button]");
    var button = null;
    if (scope) button = document.getElementById(scope.getAttribute("data-ctrl-enter-button"));
    if (!button) button = form.querySelector("[data-default-submit]");
    // A choice between buttons (accept / send back) is never made by a shortcut.
    if (!button && form.querySelectorAll("button[type=submit]").length > 1) return;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(button || undefined);
    } else if (button) {
      button.click();
    } else {
      form.submit();
    }
  }

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    var picker = pickerOf(el);
    if (picker && el.classList.contains("picker-input") && pickerKey(event, picker)) return;

    var form = el.form || (el.closest && el.closest("form[data-keyboard]"));
    if (!form || !form.hasAttribute("data-keyboard")) return;

    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submitWith(form, el);
      return;
    }
    if (event.key === "Enter" && !event.altKey && !event.shiftKey && el.tagName === "INPUT") {
      var type = (el.type || "").toLowerCase();
      if (type !== "submit" && type !== "button" && type !== "file" && type !== "image") {
        event.preventDefault(); // no accidental submit in the middle of a call
        moveNext(el);
      }
      return;
    }
    var radios = el.closest && el.closest("[data-radio-keys]");
    if (radios && el.type === "radio" && /^[1-9]$/.test(event.key) && !event.ctrlKey && !event.altKey) {
      var inputs = radios.querySelectorAll("input[type=radio]");
      var pick = inputs[parseInt(event.key, 10) - 1];
      if (pick) {
        event.preventDefault();
        pick.checked = true;
        pick.focus();
        pick.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
  });

  // After an error the focus goes to the first field to correct.
  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector(
      "form[data-keyboard] .has-error :is(input:not([type=hidden]), textarea, select), form[data-keyboard] .is-invalid .picker-input"
    );
    if (first) first.focus();
  });

  // --- The caller's profile ------------------------------------------------------------------------

  function flash(el) {
    el.classList.add("is-filled");
    window.setTimeout(function () { el.classList.remove("is-filled"); }, 1600);
  }

  function fillFromProfile(panel) {
    var profile = panel.querySelector("[data-caller]");
    var name = document.getElementById("id_citizen_name");
    if (!profile || !name) return;
    var known = profile.getAttribute("data-name");
    if (known && !name.value) {
      name.value = known;
      flash(name);
    }
  }

  document.addEventListener("click", function (event) {
    var use = event.target.closest && event.target.closest("[data-fill-address]");
    if (use) {
      var address = document.getElementById("id_address");
      if (address) {
        address.value = use.getAttribute("data-fill-address");
        flash(address);
      }
      return;
    }
    var copy = event.target.closest && event.target.closest("[data-copy]");
    if (copy) {
      var text = copy.getAttribute("data-copy");
      var done = function () {
        var label = copy.querySelector("[data-copy-label]");
        var copied = copy.querySelector("[data-copied]");
        if (label && copied) {
          label.hidden = true;
          copied.hidden = false;
        }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var area = document.createElement("textarea");
        area.value = text;
        document.body.appendChild(area);
        area.select();
        try {
          document.execCommand("copy");
          done();
        } catch (e) {
          /* nothing to do: the number is on screen */
        }
        document.body.removeChild(area);
      }
    }
  });
})();
