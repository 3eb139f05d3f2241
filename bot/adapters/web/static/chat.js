// vertrouwd web chat: the same pages, without reloads. Our own code; no framework.
"use strict";
(function () {
  var exit = document.getElementById("quick-exit");
  var leaving = false;
  var events = null;
  if (exit) {
    exit.addEventListener("click", function (event) {
      event.preventDefault();
      // Nothing of this page may take the tab elsewhere now (the live updates hear
      // that the visit ended, too).
      leaving = true;
      if (events) { events.close(); }
      // Replaces this page in the tab's history instead of adding the neutral site.
      window.location.replace(exit.href);
    });
  }
  var onChat = document.body.getAttribute("data-page") === "chat";
  // A conversation page never comes back from the back/forward cache: asked again,
  // the server decides (after "Leave quickly" or a long pause: the start page).
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && onChat) { window.location.reload(); }
  });
  if (!onChat || !window.fetch) {
    return;
  }
  // No request for as long as the server keeps a session: it has let go of it, so
  // the page goes too (the start page says what happened).
  var idleMs = (Number(document.body.getAttribute("data-idle")) + 2) * 1000;
  var idleTimer = null;
  function stillHere() {
    if (idleTimer) { clearTimeout(idleTimer); }
    idleTimer = setTimeout(function () {
      if (!leaving) { window.location.replace("/"); }
    }, idleMs);
  }
  stillHere();
  var version = Number(document.body.getAttribute("data-version")) || 0;
  var busy = false;

  // The live regions stay in place (screen readers announce what changes in them);
  // the rest of the conversation is replaced.
  function swap(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    if (leaving) { return false; }
    if (page.body.getAttribute("data-page") !== "chat") {
      window.location.replace("/");
      return false;
    }
    ["receipt-slot", "choices-slot", "line-log", "replies"].forEach(function (id) {
      var now = document.getElementById(id);
      var fresh = page.getElementById(id);
      if (now && fresh && now.innerHTML !== fresh.innerHTML) {
        now.innerHTML = fresh.innerHTML;
      }
    });
    var title = document.getElementById("line-title");
    var freshTitle = page.getElementById("line-title");
    if (title && freshTitle) { title.className = freshTitle.className; }
    var hidden = page.querySelectorAll("form.typed input[type=hidden]");
    Array.prototype.forEach.call(hidden, function (input) {
      var mine = document.querySelector('form.typed input[name="' + input.name + '"]');
      if (mine) { mine.value = input.value; }
    });
    version = Number(page.body.getAttribute("data-version")) || version;
    document.body.setAttribute("data-version", String(version));
    attach();
    return true;
  }

  function refresh() {
    stillHere();
    return fetch("/chat", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(swap);
  }

  function send(form, submitter) {
    var data = new FormData(form, submitter);
    var typed = form.querySelector("textarea");
    busy = true;
    stillHere();
    fetch(form.action, { method: "POST", body: new URLSearchParams(data), credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (leaving) { return null; }
        if (new URL(response.url).pathname !== "/chat") {
          window.location.replace(response.url);
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        if (typed) { typed.value = ""; }
        if (swap(html)) {
          var first = document.querySelector(".choices button");
          var target = typed ? typed : (first || document.getElementById("text"));
          if (target) { target.focus(); }
        }
      })
      .catch(function () { if (!leaving) { form.submit(); } })
      .then(function () { busy = false; });
  }

  function attach() {
    var forms = document.querySelectorAll("main form");
    Array.prototype.forEach.call(forms, function (form) {
      if (form.getAttribute("data-live")) { return; }
      form.setAttribute("data-live", "1");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!busy) { send(form, event.submitter); }
      });
    });
  }

  attach();
  if (window.EventSource) {
    events = new EventSource("/events");
    events.addEventListener("message", function (event) {
      if (leaving) { return; }
      var seen = Number(event.data);
      if (seen < 0) { window.location.replace("/"); return; }
      if (seen > version && !busy) { refresh(); }
    });
  }
})();
