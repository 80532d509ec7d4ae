/*
 * Streetteam link script for merchant sites. No framework, no dependencies.
 *
 *   <script src="https://YOUR-STREETTEAM/static/streetteam-merchant.js" defer></script>
 *   <input name="coupon" data-streetteam-code>
 *
 * (static/streetteam.js, the name it was first published under, is a byte-for-byte copy kept
 * for stores that installed it then; a test pins the two identical.)
 *
 * A referral link (/r/CODE) lands on your site with ?st_code=CODE&st_win=DAYS&st_vid=VISITOR
 * (VISITOR is the visitor id as Streetteam signed it, ID.SIGNATURE: pass it on as it is; an id
 * without its signature attributes nothing). This script keeps the code and visitor id in
 * first-party storage for the programme's attribution window (st_win, set by Streetteam;
 * data-window-days on the script tag can only shorten it), fills any [data-streetteam-code]
 * field that is empty, and exposes them to your checkout:
 *
 *   window.Streetteam.code       -> "ANNA20" or null
 *   window.Streetteam.visitorId  -> send as visitor_id to POST /api/v1/orders
 *   window.Streetteam.fill(el)   -> fill a coupon field you render later
 *   window.Streetteam.clear()    -> forget the referral (e.g. after the order)
 *
 * Only a link click replaces a stored referral: st_code with st_vid, or the pair
 * ?ref=CODE&st_vid=VISITOR that links shared before st_code existed carry. A ?ref= on its own
 * (a name many other tools use) is ignored, whatever it holds.
 */
(function () {
  "use strict";
  var KEY = "streetteam_referral";
  var DAY = 86400000;
  var LEGACY_WINDOW_DAYS = 30; // links from before st_win: what the script always assumed
  var MAX_WINDOW_DAYS = 365;
  var CODE_SHAPE = /^[A-Za-z0-9][A-Za-z0-9-]{2,31}$/;
  // ID.SIGNATURE (URL-safe base64). A bare id, as links carried before ids were signed, is
  // no longer a click: the server would attribute nothing to it.
  var VISITOR_SHAPE = /^[A-Za-z0-9]{1,32}\.[A-Za-z0-9_-]{16,86}$/;
  var script = document.currentScript;

  function now() { return Date.now(); }

  // data-window-days: the merchant's own cap, never longer than what the link carries.
  function ownCap() {
    var raw = script && script.getAttribute("data-window-days");
    var days = raw ? parseInt(raw, 10) : NaN;
    return days > 0 ? days : null;
  }

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
      if (!data || !data.code || !(data.expires > now())) { return null; }
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

  // The referral a link click put on this URL, or null. Streetteam's own parameters
  // (st_code + st_vid, with the programme's window in st_win), or the older ref + st_vid pair.
  function fromLink(params) {
    var visitorId = params.get("st_vid");
    if (!visitorId || !VISITOR_SHAPE.test(visitorId)) { return null; }
    var code = params.get("st_code");
    var days = parseInt(params.get("st_win") || "", 10);
    if (code === null) {
      code = params.get("ref"); // a link shared before st_code: no window on it
      days = LEGACY_WINDOW_DAYS;
    }
    if (!code || !CODE_SHAPE.test(code) || !(days > 0)) { return null; }
    var cap = ownCap();
    days = Math.min(days, MAX_WINDOW_DAYS, cap || MAX_WINDOW_DAYS);
    var clickedAt = now();
    return {
      code: code.toUpperCase(),
      visitorId: visitorId,
      clickedAt: clickedAt,
      windowDays: days,
      expires: clickedAt + days * DAY
    };
  }

  // The signed visitor id stands for this shopper: once it is stored, take it (and the code and
  // window with it) off the address bar, so a shop URL the shopper copies and shares doesn't
  // hand it on. Other parameters, ?ref= included, are left as they were.
  function forgetLinkParams() {
    if (!window.history || !window.history.replaceState || !window.URL) { return; }
    var url = new URL(window.location.href);
    ["st_code", "st_win", "st_vid"].forEach(function (name) { url.searchParams.delete(name); });
    window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
  }

  // A new link click replaces an older referral (last click wins, as on the server).
  var data = read();
  var clicked = fromLink(new URLSearchParams(window.location.search));
  if (clicked) {
    data = clicked;
    write(data);
    forgetLinkParams();
  } else if (data) {
    // A cap added to the tag later applies to referrals already stored; it never lengthens one.
    var cap = ownCap();
    if (cap && data.clickedAt && data.clickedAt + cap * DAY < data.expires) {
      data.expires = data.clickedAt + cap * DAY;
      if (data.expires > now()) { write(data); } else { data = null; }
    }
  }

  // The stored referral, or null once its window has passed (a page left open counts too).
  function current() {
    if (api.code && !(expires > now())) {
      api.code = null;
      api.visitorId = null;
    }
    return api.code;
  }

  function fill(el) {
    if (el && current() && !el.value) {
      el.value = api.code;
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  var expires = data ? data.expires : 0;
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
