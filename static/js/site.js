/* Streetteam's own pages (templates/base.html; not the merchant link script, which is
 * static/streetteam-merchant.js): copy-to-clipboard for any [data-copy] button. No framework,
 * no dependencies.
 *
 *   <code id="rep-code">ANNA2024</code>
 *   <button type="button" data-copy data-copy-target="rep-code" hidden>Copy code</button>
 *   <button type="button" data-copy="https://example.com/r/ANNA2024" hidden>Copy link</button>
 *
 * Buttons ship with `hidden` and are revealed here, so without JavaScript nobody sees a button
 * that does nothing. The result is announced through a polite live region.
 */
(function () {
  "use strict";

  var FEEDBACK_MS = 2000;
  var live;

  function liveRegion() {
    if (!live) {
      live = document.createElement("div");
      live.className = "sr-only";
      live.setAttribute("aria-live", "polite");
      live.setAttribute("role", "status");
      document.body.appendChild(live);
    }
    return live;
  }

  function announce(text) {
    var region = liveRegion();
    region.textContent = "";
    // A tick later, so the same message twice in a row is still read out.
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function valueFor(button) {
    var targetId = button.getAttribute("data-copy-target");
    if (targetId) {
      var target = document.getElementById(targetId);
      if (!target) return { text: "", target: null };
      var text = "value" in target && typeof target.value === "string" ? target.value : target.textContent;
      return { text: (text || "").trim(), target: target };
    }
    return { text: (button.getAttribute("data-copy") || "").trim(), target: null };
  }

  function legacyCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return legacyCopy(text); });
    }
    return legacyCopy(text);
  }

  function labelOf(button) {
    return button.querySelector("[data-copy-label]") || button;
  }

  function feedback(button, message) {
    var label = labelOf(button);
    if (!button.hasAttribute("data-copy-original")) {
      button.setAttribute("data-copy-original", label.textContent);
    }
    label.textContent = message;
    button.classList.add("is-copied");
    announce(message);
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () {
      label.textContent = button.getAttribute("data-copy-original");
      button.classList.remove("is-copied");
    }, FEEDBACK_MS);
  }

  function selectTarget(target) {
    if (!target) return;
    if (typeof target.select === "function") {
      target.focus();
      target.select();
    } else if (window.getSelection) {
      var range = document.createRange();
      range.selectNodeContents(target);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    event.preventDefault();
    var found = valueFor(button);
    if (!found.text) return;
    copyText(found.text).then(
      function () { feedback(button, "Copied!"); },
      function () {
        selectTarget(found.target);
        feedback(button, "Press Ctrl+C to copy");
      }
    );
  });

  function reveal() {
    var buttons = document.querySelectorAll("[data-copy][hidden]");
    for (var i = 0; i < buttons.length; i++) buttons[i].removeAttribute("hidden");
  }

  /* Per-item values for the stylesheet (a bar's height, a product's colour) arrive as
   * `data-vars data-var-NAME="value"` and become the custom property --NAME. The
   * Content-Security-Policy forbids style="" attributes, not styles set from a script.
   *   <span class="bar" data-vars data-var-h="40%"></span>   ->   --h: 40%
   */
  function applyVars() {
    var elements = document.querySelectorAll("[data-vars]");
    for (var i = 0; i < elements.length; i++) {
      var data = elements[i].dataset;
      for (var key in data) {
        if (key.length > 3 && key.indexOf("var") === 0) {
          var name = key.slice(3).replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); });
          elements[i].style.setProperty("-" + name, data[key]);
        }
      }
    }
  }

  function ready() {
    reveal();
    applyVars();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
