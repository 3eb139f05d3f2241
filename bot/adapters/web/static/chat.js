// vertrouwd web chat: the same pages, without reloads. Our own code; no framework.
"use strict";
(function () {
  var exit = document.getElementById("quick-exit");
  if (exit) {
    exit.addEventListener("click", function (event) {
      event.preventDefault();
      // Replaces this page in the tab's history instead of adding the neutral site.
      window.location.replace(exit.href);
    });
  }
  if (document.body.getAttribute("data-page") !== "chat" || !window.fetch) {
    return;
  }
  var version = Number(document.body.getAttribute("data-version")) || 0;
  var busy = false;

  function swap(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    if (page.body.getAttribute("data-page") !== "chat") {
      window.location.replace("/");
      return false;
    }
    var fresh = page.getElementById("main");
    var typed = document.getElementById("text");
    var draft = typed ? typed.value : "";
    var hadFocus = document.activeElement === typed;
    document.getElementById("main").innerHTML = fresh.innerHTML;
    version = Number(page.body.getAttribute("data-version")) || version;
    document.body.setAttribute("data-version", String(version));
    var again = document.getElementById("text");
    if (again) {
      again.value = draft;
      if (hadFocus) { again.focus(); }
    }
    attach();
    return true;
  }

  function refresh() {
    return fetch("/chat", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(swap);
  }

  function send(form, submitter) {
    var data = new FormData(form, submitter);
    var typed = form.querySelector("textarea");
    busy = true;
    fetch(form.action, { method: "POST", body: new URLSearchParams(data), credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
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
          var target = typed ? document.getElementById("text") : (first || document.getElementById("text"));
          if (target) { target.focus(); }
          if (typed) { document.getElementById("text").value = ""; }
        }
      })
      .catch(function () { form.submit(); })
      .then(function () { busy = false; });
  }

  function attach() {
    var forms = document.querySelectorAll("main form");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!busy) { send(form, event.submitter); }
      });
    });
  }

  attach();
  if (window.EventSource) {
    var events = new EventSource("/events");
    events.addEventListener("message", function (event) {
      var seen = Number(event.data);
      if (seen < 0) { window.location.replace("/"); return; }
      if (seen > version && !busy) { refresh(); }
    });
  }
})();
