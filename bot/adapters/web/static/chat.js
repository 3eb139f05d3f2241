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
  // Where the pages are: "/", or an organisation's own path on a bureau's address.
  var root = document.body.getAttribute("data-root") || "/";
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
      if (!leaving) { window.location.replace(root); }
    }, idleMs);
  }
  stillHere();
  var version = Number(document.body.getAttribute("data-version")) || 0;
  var busy = false;

  // What the script adds to a page, done to a fetched page too before it is compared:
  // the copy button shows where it can work; autofocus is for pages loaded whole (a
  // swapped-in one must not take the focus from someone typing).
  function prepare(root, fetched) {
    var copy = root.getElementById("copy-code");
    if (copy && navigator.clipboard) { copy.removeAttribute("hidden"); }
    Array.prototype.forEach.call(root.querySelectorAll("[autofocus]"), function (element) {
      if (fetched) { element.removeAttribute("autofocus"); } else { element.focus(); }
    });
  }

  function wireCopy() {
    var copy = document.getElementById("copy-code");
    var code = document.getElementById("receipt-code");
    if (!copy || !code || copy.wired) { return; }
    copy.wired = true;  // a property, not an attribute: the slot's HTML stays comparable
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent.trim()).then(function () {
        document.getElementById("copy-status").textContent = copy.getAttribute("data-copied");
      });
    });
  }

  // The live regions stay in place (screen readers announce what changes in them);
  // the rest of the conversation is replaced.
  function swap(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    if (leaving) { return false; }
    if (page.body.getAttribute("data-page") !== "chat") {
      window.location.replace(root);
      return false;
    }
    prepare(page, true);
    ["receipt-slot", "choices-slot", "line-log", "replies", "later-slot"].forEach(function (id) {
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
    // A live update is not the person being here: it neither restarts the idle timer
    // nor counts as a request of theirs on the server (?live=1).
    return fetch(root + "chat?live=1", { credentials: "same-origin", cache: "no-store" })
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
        if (new URL(response.url).pathname !== root + "chat") {
          window.location.replace(response.url);
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        if (typed) { typed.value = ""; }
        // The person's own step: the focus goes to the question (read from there);
        // the region is not announced as well, so nothing is read twice.
        // A code that just appeared is where they are needed first.
        var replies = document.getElementById("replies");
        var hadCode = Boolean(document.getElementById("receipt-code"));
        replies.setAttribute("aria-live", "off");
        if (swap(html)) {
          var code = document.getElementById("receipt-code") && !hadCode;
          var title = document.getElementById(code ? "code-title" : "step-title");
          if (title) { title.focus(); }
        }
        window.setTimeout(function () { replies.setAttribute("aria-live", "polite"); }, 1000);
      })
      .catch(function () { if (!leaving) { form.submit(); } })
      .then(function () { busy = false; });
  }

  function attach() {
    wireCopy();
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

  prepare(document, false);
  attach();
  if (window.EventSource) {
    events = new EventSource(root + "events");
    events.addEventListener("message", function (event) {
      if (leaving) { return; }
      var seen = Number(event.data);
      if (seen < 0) { window.location.replace(root); return; }
      if (seen > version && !busy) { refresh(); }
    });
  }
})();
