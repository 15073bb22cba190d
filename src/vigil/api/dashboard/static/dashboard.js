// Vigil's dashboard: the live parts. Served as a file (the Content-Security-Policy allows no
// inline script). Everything from the server that this script inserts as markup is a panel the
// server rendered and escaped; everything it builds from event data uses text nodes only.
// The token lives in this tab's sessionStorage and goes only into an Authorization header.
"use strict";

(function () {
  const TOKEN_KEY = "vigil.token";
  const MAX_ROWS = 200;
  const SUMMARY_KEYS = ["summary", "title", "command", "message", "alertname", "reason", "action", "name"];
  const REFRESH = [
    [/^triage\./, "triage"],
    [/^action\./, "proposals"],
    [/^notification\./, "inbox"],
    [/^(breaker|component|daemon|probe)\./, "health"],
  ];

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.from((root || document).querySelectorAll(selector)); }

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }
  function setToken(value) {
    try {
      if (value) { sessionStorage.setItem(TOKEN_KEY, value); } else { sessionStorage.removeItem(TOKEN_KEY); }
    } catch (e) { /* storage off: the token lasts as long as the page */ }
    showTokenState(value ? "Token kept for this session." : "No token: approving and denying need one.");
  }
  function showTokenState(text, bad) {
    const state = $("#token-state");
    if (state) { state.textContent = text; state.className = bad ? "bad" : ""; }
    const forget = $("#token-forget");
    if (forget) { forget.hidden = !token(); }
  }

  // -- times: UTC from the server, local here ------------------------------------------------
  function localTimes(root) {
    $all("time[datetime]", root).forEach(function (node) {
      const when = new Date(node.getAttribute("datetime"));
      if (isNaN(when.getTime())) { return; }
      const long = node.textContent.indexOf(" ") > 0;
      node.textContent = long ? when.toLocaleString() : when.toLocaleTimeString();
    });
  }

  function enhance(root) {
    $all(".decide", root).forEach(function (node) { node.hidden = false; });
    $all(".nojs", root).forEach(function (node) { node.hidden = true; });
    localTimes(root);
  }

  // -- panels ------------------------------------------------------------------------------------
  // One refresh of a panel at a time; a change seen meanwhile refreshes it once more after.
  const pending = {};
  const dirty = {};
  function refresh(name) {
    if (pending[name]) { dirty[name] = true; return; }
    pending[name] = setTimeout(function () { load(name); }, 250);
  }
  function settle(name) {
    delete pending[name];
    if (dirty[name]) { delete dirty[name]; refresh(name); }
  }
  function load(name) {
    const panel = $('section[data-section="' + name + '"] > .body');
    if (!panel) { settle(name); return; }
    const active = document.activeElement;
    if (active && panel.contains(active) && active.tagName === "INPUT" && active.value) {
      pending[name] = setTimeout(function () { load(name); }, 2000); // someone is typing here
      return;
    }
    const query = name === "latency" ? window.location.search : "";
    fetch("/dashboard/section/" + name + query, { headers: { "Accept": "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (html !== null) {
          panel.innerHTML = html; // the server's own escaped panel
          enhance(panel);
        }
        settle(name);
      })
      .catch(function () { settle(name); });
  }

  // -- the live event stream -------------------------------------------------------------------
  function summary(data) {
    for (const key of SUMMARY_KEYS) {
      const value = data[key];
      if (typeof value === "string" && value.trim()) {
        let text = value.trim().split("\n")[0];
        if ("exit_code" in data) { text += " (exit " + data.exit_code + ")"; }
        return text.slice(0, 200);
      }
    }
    return JSON.stringify(data).slice(0, 200);
  }

  function text(tag, value, className) {
    const node = document.createElement(tag);
    node.textContent = value;
    if (className) { node.className = className; }
    return node;
  }

  function eventRow(event) {
    const row = document.createElement("li");
    row.className = "ev new";
    row.dataset.seq = String(event.seq);
    row.dataset.type = event.type;
    const details = document.createElement("details");
    const head = document.createElement("summary");
    const when = text("time", "", "");
    when.setAttribute("datetime", event.time);
    when.title = event.time;
    when.textContent = new Date(event.time).toLocaleTimeString();
    head.append(when, " ", text("code", event.type, "type"), " ",
      text("span", summary(event.data || {}), "what"), " ",
      text("span", event.subject || event.source, "src"));
    const meta = document.createElement("p");
    meta.className = "meta";
    const link = text("a", event.id);
    link.href = "/api/events/" + encodeURIComponent(event.id);
    const why = text("a", "why");
    why.href = "/why/" + encodeURIComponent(event.id);
    meta.append(link, " · source " + event.source, " · ", why);
    let body = JSON.stringify(event.data, null, 1);
    if (body.length > 2000) { body = body.slice(0, 2000) + "\n…"; }
    details.append(head, meta, text("pre", body, "json"));
    row.append(details);
    return row;
  }

  function matches(event, words) {
    if (!words) { return true; }
    const hay = (event.type + " " + (event.subject || "") + " " + event.source + " " +
      JSON.stringify(event.data)).toLowerCase();
    return hay.indexOf(words) >= 0;
  }

  function follow(list) {
    const state = $("#stream-state");
    const pattern = list.dataset.type || "";
    const words = (list.dataset.text || "").trim().toLowerCase();
    let last = list.dataset.after || "0";
    let backoff = 1000;
    const decoder = new TextDecoder();

    function say(textValue, kind) {
      if (state) { state.textContent = textValue; state.className = "state " + (kind || ""); }
    }

    function handle(block) {
      let id = null;
      const data = [];
      block.split("\n").forEach(function (line) {
        if (line.startsWith("id:")) { id = line.slice(3).trim(); }
        else if (line.startsWith("data:")) { data.push(line.slice(5).replace(/^ /, "")); }
      });
      if (id) { last = id; }
      if (!data.length) { return; }
      let event;
      try { event = JSON.parse(data.join("\n")); } catch (e) { return; }
      REFRESH.forEach(function (pair) { if (pair[0].test(event.type)) { refresh(pair[1]); } });
      if (!matches(event, words)) { return; }
      const empty = $("#events .empty");
      if (empty) { empty.remove(); }
      list.prepend(eventRow(event));
      while (list.children.length > MAX_ROWS) { list.lastElementChild.remove(); }
    }

    function connect() {
      let url = "/api/events/stream?after=" + encodeURIComponent(last);
      if (pattern.trim()) { url += "&type=" + encodeURIComponent(pattern.trim()); }
      fetch(url, { headers: { "Accept": "text/event-stream", "Last-Event-ID": last } })
        .then(function (answer) {
          if (!answer.ok || !answer.body) { throw new Error("HTTP " + answer.status); }
          say("live", "ok");
          backoff = 1000;
          const reader = answer.body.getReader();
          let buffer = "";
          function pump() {
            return reader.read().then(function (chunk) {
              if (chunk.done) { throw new Error("closed"); }
              buffer += decoder.decode(chunk.value, { stream: true });
              let cut;
              while ((cut = buffer.indexOf("\n\n")) >= 0) {
                handle(buffer.slice(0, cut));
                buffer = buffer.slice(cut + 2);
              }
              return pump();
            });
          }
          return pump();
        })
        .catch(function () {
          say("reconnecting…", "warn");
          setTimeout(connect, backoff);
          backoff = Math.min(backoff * 2, 15000);
        });
    }
    connect();
  }

  function filterAsYouType() {
    const input = $("#f-text");
    const list = $("#event-list");
    if (!input || !list) { return; }
    input.addEventListener("input", function () {
      const words = input.value.trim().toLowerCase();
      $all("li.ev", list).forEach(function (row) {
        row.hidden = words !== "" && row.textContent.toLowerCase().indexOf(words) < 0;
      });
    });
  }

  // -- notices -----------------------------------------------------------------------------------
  function notices() {
    const region = $("#notices");
    if (!region || typeof EventSource === "undefined") { return; }
    const source = new EventSource("/dashboard/notices");
    source.addEventListener("notice", function (message) {
      let notice;
      try { notice = JSON.parse(message.data); } catch (e) { return; }
      const box = document.createElement("div");
      box.className = "toast " + (notice.severity || "info");
      box.append(text("strong", notice.title || "Notice"));
      if (notice.body) { box.append(text("p", String(notice.body).split("\n")[0])); }
      const close = text("button", "Dismiss");
      close.type = "button";
      close.addEventListener("click", function () { box.remove(); });
      box.append(close);
      region.prepend(box);
      setTimeout(function () { box.remove(); }, 20000);
      refresh("inbox");
    });
  }

  // -- approve and deny ----------------------------------------------------------------------------
  function decide(button) {
    const id = button.dataset.id;
    const verb = button.dataset.decide;
    const card = button.closest(".proposal");
    const result = card ? $(".result", card) : null;
    function say(value, bad) { if (result) { result.textContent = value; result.className = "result " + (bad ? "bad" : "ok"); } }
    const secret = token();
    if (!secret) {
      say("Enter a token first (vigil token create NAME).", true);
      const input = $("#token-input");
      if (input) { input.focus(); }
      return;
    }
    const body = { client: "dashboard" };
    if (verb === "deny" && card) {
      const why = $(".deny-why", card);
      if (why && why.value.trim()) { body.why = why.value.trim(); }
    }
    $all("button", card || document).forEach(function (b) { b.disabled = true; });
    say(verb === "approve" ? "Approving…" : "Denying…");
    fetch("/api/proposals/" + encodeURIComponent(id) + "/" + verb, {
      method: "POST",
      headers: {
        "Authorization": "Bearer " + secret,
        "X-Vigil-Client": "dashboard",
        "Content-Type": "application/json",
      },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    })
      .then(function (answer) {
        return answer.json().catch(function () { return {}; }).then(function (reply) {
          return { status: answer.status, reply: reply };
        });
      })
      .then(function (got) {
        if (got.status === 200) {
          say((verb === "approve" ? "Approved" : "Denied") + ": " + (got.reply.status || ""));
          refresh("proposals");
          return;
        }
        $all("button", card || document).forEach(function (b) { b.disabled = false; });
        if (got.status === 401) {
          setToken("");
          showTokenState("The token was refused: enter a valid one.", true);
          say("Refused: the token is not valid.", true);
          return;
        }
        say("Not done: " + (got.reply.error || ("HTTP " + got.status)), true);
      })
      .catch(function (error) {
        $all("button", card || document).forEach(function (b) { b.disabled = false; });
        say("Not done: " + error, true);
      });
  }

  function start() {
    const form = $("#token-form");
    if (form) {
      form.hidden = false;
      form.addEventListener("submit", function (submitted) {
        submitted.preventDefault();
        const input = $("#token-input");
        const value = input ? input.value.trim() : "";
        if (input) { input.value = ""; }
        setToken(value);
      });
      const forget = $("#token-forget");
      if (forget) { forget.addEventListener("click", function () { setToken(""); }); }
      showTokenState(token() ? "Token kept for this session." : "No token yet.");
    }
    document.addEventListener("click", function (clicked) {
      const button = clicked.target.closest("button[data-decide]");
      if (button) { decide(button); }
    });
    enhance(document);
    filterAsYouType();
    const list = $("#event-list");
    if (list) { follow(list); }
    notices();
    setInterval(function () { if (!document.hidden) { refresh("health"); } }, 15000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
