/*
 * Streetteam link script for merchant sites. No framework, no dependencies.
 *
 *   <script src="https://YOUR-STREETTEAM/static/streetteam.js" defer></script>
 *   <input name="coupon" data-streetteam-code>
 *
 * A referral link (/r/CODE) lands on your site with ?ref=CODE&st_vid=VISITOR. This script keeps
 * both in first-party storage for the attribution window (default 30 days; set
 * data-window-days on the script tag), fills any [data-streetteam-code] field that is empty,
 * and exposes them to your checkout:
 *
 *   window.Streetteam.code       -> "ANNA20" or null
 *   window.Streetteam.visitorId  -> send as visitor_id to POST /api/v1/orders
 *   window.Streetteam.fill(el)   -> fill a coupon field you render later
 *   window.Streetteam.clear()    -> forget the referral (e.g. after the order)
 */
(function () {
  "use strict";
  var KEY = "streetteam_referral";
  var script = document.currentScript;
  var windowDays = parseInt((script && script.getAttribute("data-window-days")) || "30", 10);
  var CODE_SHAPE = /^[A-Za-z0-9][A-Za-z0-9-]{2,31}$/;

  function now() { return Date.now(); }

  function read() {
    var raw = null;
    try { raw = window.localStorage.getItem(KEY); } catch (e) { /* storage blocked */ }
    if (!raw) {
      var match = document.cookie.match(new RegExp("(?:^|; )" + KEY + "=([^;]*)"));
      raw = match ? decodeURIComponent(match[1]) : null;
    }
    if (!raw) { return null; }
    try {
      var data = JSON.parse(raw);
      if (!data || !data.code || data.expires < now()) { return null; }
      return data;
    } catch (e) { return null; }
  }

  function write(data) {
    var raw = JSON.stringify(data);
    try { window.localStorage.setItem(KEY, raw); } catch (e) { /* storage blocked */ }
    var maxAge = Math.max(0, Math.floor((data.expires - now()) / 1000));
    document.cookie = KEY + "=" + encodeURIComponent(raw) + "; max-age=" + maxAge +
      "; path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  function clear() {
    try { window.localStorage.removeItem(KEY); } catch (e) { /* storage blocked */ }
    document.cookie = KEY + "=; max-age=0; path=/";
    api.code = null;
    api.visitorId = null;
  }

  // A new link click replaces an older referral (last click wins, as on the server).
  var params = new URLSearchParams(window.location.search);
  var ref = params.get("ref");
  var data = read();
  if (ref && CODE_SHAPE.test(ref)) {
    data = {
      code: ref.toUpperCase(),
      visitorId: (params.get("st_vid") || "").replace(/[^A-Za-z0-9]/g, "").slice(0, 32) || null,
      clickedAt: now(),
      expires: now() + windowDays * 86400000
    };
    write(data);
  }

  function fill(el) {
    if (el && api.code && !el.value) {
      el.value = api.code;
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  var api = {
    code: data ? data.code : null,
    visitorId: data ? data.visitorId : null,
    fill: fill,
    clear: clear
  };
  window.Streetteam = api;

  function fillAll() {
    var fields = document.querySelectorAll("[data-streetteam-code]");
    for (var i = 0; i < fields.length; i++) { fill(fields[i]); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fillAll);
  } else {
    fillAll();
  }
})();
