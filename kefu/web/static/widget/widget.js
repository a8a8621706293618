/*!
 * Kefu support chat widget — realtime protocol v1 (docs/realtime-protocol.md). No framework, no
 * build step. Serve it as /widget.js (the server fills in the version).
 *
 * EMBED (one tag, on any origin; the widget talks to the Kefu origin it was loaded from):
 *
 *   <script src="https://support.example.com/widget.js" async
 *           data-token="<customer JWT issued by your backend>"
 *           data-token-url="/kefu/token"          optional: where to renew the token
 *           data-lang="zh-CN"                      zh-CN | en (default: the browser's language)
 *           data-quick-questions='["Deposit not credited","Withdrawal pending"]'
 *                                                  a JSON list, or "one|two|three"
 *           data-title="Support"                   the panel's title
 *           data-position="bottom-right"></script> bottom-right | bottom-left
 *
 * Without a token (no data-token, data-token-url or token provider) the person chats as a
 * visitor: a visitor id from POST /api/v1/visitors, kept in localStorage, with one conversation.
 *
 * TOKENS. Customer JWTs are short-lived. A minute before the token expires, and whenever the
 * server closes with 4408 (token expired), the widget asks for a fresh one from the first of:
 *   1. a token provider: window.KefuWidget.setToken(fn), where fn() returns a JWT or a Promise
 *      of one. To set it before the script has loaded, define
 *      window.KefuWidget = { tokenProvider: fn } first.
 *   2. data-token-url: fetched with GET and the host page's cookies (credentials: "include");
 *      it answers {"token": "<jwt>"} (JSON) or the bare JWT as text.
 * A fresh token renews the live connection (an `auth` frame); after 4408 the widget reconnects
 * with it and resumes. With no way to renew, the widget says the session expired and offers to
 * reload the page. KefuWidget.setToken("<jwt>") hands over one token directly (e.g. after
 * sign-in: a visitor then becomes that customer).
 *
 * JS API: window.KefuWidget.open(), .close(), .toggle(), .ask(text) (open with text in the
 * composer), .setToken(fnOrJwt), .version. The window gets a "kefu:ready" event once it exists.
 * Styling: the widget lives in a Shadow DOM; the host page may set --kefu-accent (a colour),
 * --kefu-accent-text (text on it) and --kefu-accent-ink (links on white) on #kefu-widget.
 * The host page needs no inline script or style for it; a host CSP must allow the Kefu origin
 * in script-src, style-src (the widget's stylesheet) and connect-src (https: and wss:).
 *
 * STABLE data-testid ATTRIBUTES (for browser tests; the shadow root is open):
 *   kefu-launcher        the round button that opens/closes the panel (kefu-unread: its badge)
 *   kefu-panel           the chat panel (a dialog; aria-modal while it fills the screen)
 *   kefu-close           the panel's close button
 *   kefu-status          connection status; data-state = connecting|online|reconnecting|
 *                        offline|expired
 *   kefu-ticket-number   the ticket number (kefu-copy-ticket copies it)
 *   kefu-ticket-status   the ticket's status
 *   kefu-status-note     what a status change means for the person ("waiting for your
 *                        reply", "reopened"; empty otherwise); a polite live region
 *   kefu-queue           queue position and wait estimate (hidden when not waiting)
 *   kefu-notice          errors and notices (role=alert)
 *   kefu-quick-question  each quick-question button
 *   kefu-messages        the message list (role=log)
 *   kefu-message         each message; data-seq, data-author (customer|agent|assistant|system),
 *                        data-state = sending|sent|read|failed (own messages)
 *   kefu-antiphishing    the customer's anti-phishing code on a message from support
 *   kefu-retry           "retry" on a message that failed
 *   kefu-feedback        the 👍/👎 row under each answer of the assistant (a `message` frame
 *                        with rateable: true); data-vote = helpful|not-helpful once voted.
 *                        kefu-helpful, kefu-not-helpful: its buttons
 *                        (aria-pressed; disabled after the vote); kefu-feedback-thanks: shown
 *                        once the server recorded the vote
 *   kefu-attachment      each attachment on a message (click downloads it)
 *   kefu-attachment-withheld  an attachment the secret guard did not keep (no download)
 *   kefu-typing          "… is typing"
 *   kefu-input           the message textarea;  kefu-send: the send button
 *   kefu-limit-hint      "shortened to / at the limit" under the box (a polite live region,
 *                        empty while the message is under MAX_BODY_CHARS)
 *   kefu-attach          the attach button;      kefu-file-input: the <input type=file>
 *   kefu-upload          the upload row;         kefu-progress: its <progress>;
 *                        kefu-upload-cancel: its Cancel button (stops the files being sent)
 *   kefu-rating          the rating form; kefu-rating-star (data-score 1-5) each star,
 *                        kefu-rating-comment, kefu-rating-submit (aria-disabled while it
 *                        sends); kefu-rating-error (role=alert, empty without an error);
 *                        kefu-rating-thanks afterwards
 *   kefu-new-conversation  start a new conversation (after resolved/closed)
 *   kefu-service-status  current incidents and network delays from the status page
 *   kefu-suggestions     help-center articles for the first message (kefu-suggestion: each)
 *   kefu-transcript-txt, kefu-transcript-html   transcript downloads
 *   kefu-link            a link in support's or the assistant's message (opens in a new tab)
 */
(function () {
  "use strict";

  var preset = window.KefuWidget;
  if (preset && preset.version) {
    return; // loaded twice: the first copy owns the page
  }
  preset = preset && typeof preset === "object" ? preset : {};

  var VERSION = "__KEFU_VERSION__";
  var script = document.currentScript || findOwnScript();
  if (!script || !script.src) {
    return;
  }

  /* ------------------------------------------------------------------ configuration */

  var scriptUrl = new URL(script.src, location.href);
  // Kefu may live under a path prefix: strip ".../widget.js" (or the static copy's path).
  var BASE = scriptUrl.origin +
    scriptUrl.pathname.replace(/(\/static\/widget)?\/widget\.js$/, "");
  var WS_URL = BASE.replace(/^http/, "ws") + "/ws/chat";
  var STORE = "kefu:" + BASE + ":";

  /* What the server's upload endpoint accepts, filled in by the server from its settings
   * (max_attachment_bytes, allowed_attachment_types, MAX_FILES_PER_MESSAGE): {"max_bytes":
   * 26214400, "max_files": 10, "types": {"image/png": [".png"], ...}}. Left empty (a copy not
   * served as /widget.js), the widget checks nothing itself and the server's refusal is
   * explained instead. */
  var UPLOADS = {/*__KEFU_UPLOADS__*/};
  var MAX_FILE_BYTES = typeof UPLOADS.max_bytes === "number" ? UPLOADS.max_bytes : 0;
  var FILE_TYPES = UPLOADS.types && typeof UPLOADS.types === "object" ? UPLOADS.types : null;
  var FILE_EXTENSIONS = {};   // ".png" -> "image/png", for files the browser gives no type
  Object.keys(FILE_TYPES || {}).forEach(function (type) {
    (FILE_TYPES[type] || []).forEach(function (extension) {
      FILE_EXTENSIONS[extension.toLowerCase()] = FILE_EXTENSIONS[extension.toLowerCase()] || type;
    });
  });
  var MAX_FILES = typeof UPLOADS.max_files === "number" ? UPLOADS.max_files : 0;
  var MAX_BODY_CHARS = 20000;
  // Where the panel fills the screen (widget.css has the same media query): a modal dialog.
  var FULL_SCREEN = "(max-width: 520px), (max-height: 480px)";
  var SUGGEST_AFTER_MS = 700;   // pause in typing before asking for articles
  var SUGGEST_MIN_CHARS = 4;    // two for Chinese, whose two characters already say something
  var HAN = /[\u3400-\u9fff]/;
  var STATUS_EVERY_MS = 300000; // refresh the service status banner at most this often
  var STATUS_SHOWN = 3; // the most serious notices named in the banner; the rest counted
  var TYPING_EVERY_MS = 3000;   // repeat "typing: true" at most this often
  var TYPING_IDLE_MS = 4000;    // then "typing: false" after this long without a keystroke
  var TYPING_SHOW_MS = 8000;    // hide the other side's indicator if no update comes
  var PING_EVERY_MS = 25000;
  var SILENCE_MS = 35000;       // nothing heard for this long (a ping unanswered): dead
  var HEARTBEAT_CHECK_MS = 5000;
  var RENEW_BEFORE_S = 60;
  var BACKOFF_BASE_MS = 1000;
  var BACKOFF_MAX_MS = 30000;

  /* The widget's text in every UI language, {"en": {"send": "Send", …}, "zh-CN": {…}}: the
   * server fills it in from its gettext catalogs (the widget.* keys in kefu/web/locales, English
   * standing in for a missing translation). A new string: call t("newKey"), run
   * `kefu i18n extract` and translate widget.newKey (docs/translations.md). */
  var STRINGS = {/*__KEFU_STRINGS__*/};

  function dataAttr(name) {
    var value = script.getAttribute("data-" + name);
    return value === null ? "" : value.trim();
  }

  function normalizeLang(tag) {
    return /^zh/i.test(tag || "") ? "zh-CN" : "en";
  }

  var LANG = normalizeLang(dataAttr("lang") || navigator.language);
  var STR = STRINGS[LANG] || {};

  /* t("key", {name: "x"}): this language's text, {placeholders} filled in. */
  function t(key, values) {
    var text = STR[key];
    if (text === undefined) {
      return key;
    }
    return String(text).replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }

  /* What the secret guard hid is stored as "[REDACTED seed_phrase]": said in the
     customer's language (the hidden.* strings). */
  function hiddenLabels(text) {
    return text.replace(/\[REDACTED ([a-z_]+)\]/g, function (all, kind) {
      return STR["hidden." + kind] !== undefined ? t("hidden." + kind) : all;
    });
  }

  function parseQuickQuestions(raw) {
    var list = null;
    if (raw.charAt(0) === "[") {
      try {
        list = JSON.parse(raw);
      } catch (error) {
        list = null;
      }
    }
    if (!Array.isArray(list)) {
      list = raw ? raw.split("|") : [t("quick.1"), t("quick.2"), t("quick.3"), t("quick.4")];
    }
    return list.filter(function (q) { return typeof q === "string" && q.trim(); })
      .map(function (q) { return q.trim().slice(0, 200); }).slice(0, 8);
  }

  var config = {
    title: dataAttr("title") || t("title"),
    quickQuestions: parseQuickQuestions(dataAttr("quick-questions")),
    position: /left/.test(dataAttr("position")) ? "left" : "right"
  };

  /* ------------------------------------------------------------------ small helpers */

  function findOwnScript() {
    var scripts = document.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|$)/.test(scripts[i].src)) {
        return scripts[i];
      }
    }
    return null;
  }

  function storageGet(key) {
    try {
      return window.localStorage.getItem(STORE + key);
    } catch (error) {
      return null; // storage blocked (privacy mode, sandboxed frame): live without it
    }
  }

  function storageSet(key, value) {
    try {
      if (value === null) {
        window.localStorage.removeItem(STORE + key);
      } else {
        window.localStorage.setItem(STORE + key, value);
      }
    } catch (error) { /* see storageGet */ }
  }

  function sessionGet(key) {
    try {
      return window.sessionStorage.getItem(STORE + key);
    } catch (error) {
      return null;
    }
  }

  function sessionSet(key, value) {
    try {
      window.sessionStorage.setItem(STORE + key, value);
    } catch (error) { /* ignore */ }
  }

  function randomId() {
    var bytes = new Uint8Array(8);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "w" + Date.now().toString(36) + "-" + Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  /* el("div", {class: "x", "data-testid": "y"}, "text" or [children]): DOM without innerHTML. */
  function el(tag, attrs, content) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === true) {
        node.setAttribute(name, "");
      } else if (value !== false && value !== null && value !== undefined) {
        node.setAttribute(name, String(value));
      }
    });
    if (typeof content === "string") {
      node.textContent = content;
    } else if (content) {
      content.forEach(function (child) {
        if (child) {
          node.appendChild(child);
        }
      });
    }
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M4 5.5A2.5 2.5 0 0 1 6.5 3h11A2.5 2.5 0 0 1 20 5.5v8a2.5 2.5 0 0 1-2.5 2.5H10l-4.5 4v-4A1.5 1.5 0 0 1 4 14.5z",
    close: "M6 6l12 12M18 6 6 18",
    send: "M4 12 20 4l-5 16-3-7z",
    clip: "M16.5 6.5 8.6 14.4a2 2 0 0 0 2.8 2.8l7.4-7.4a4 4 0 0 0-5.7-5.7l-7.4 7.4a6 6 0 0 0 8.5 8.5L20 14",
    star: "M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.9l-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z",
    copy: "M9 9h10v10H9zM5 15V5h10"
  };

  function icon(name) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function formatTime(iso) {
    var when = new Date(iso);
    if (!iso || isNaN(when.getTime())) {
      return "";
    }
    try {
      return new Intl.DateTimeFormat(LANG, { hour: "2-digit", minute: "2-digit" }).format(when);
    } catch (error) {
      return when.toTimeString().slice(0, 5);
    }
  }

  function formatSize(bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    if (bytes < 1024 * 1024) {
      return (bytes / 1024).toFixed(1) + " KB";
    }
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  /* ------------------------------------------------------------------ state */

  var auth = {
    // "customer": a JWT from the host; "visitor": an anonymous visitor token.
    mode: dataAttr("token") || dataAttr("token-url") || typeof preset.tokenProvider === "function"
      ? "customer" : "visitor",
    token: dataAttr("token") || null,
    tokenUrl: dataAttr("token-url") || null,
    provider: typeof preset.tokenProvider === "function" ? preset.tokenProvider : null,
    visitor: null,          // {visitor_id, token}
    pending: null,          // a token request in flight (shared by everyone who needs one)
    visitorPending: null,   // the visitor-id request in flight
    renewTimer: null,
    failures: 0,            // consecutive refusals of our credentials
    visitorResets: 0
  };

  var conn = {
    ws: null,
    serial: 0,              // which connection: an outbox item remembers where it was sent
    pausedUntil: 0,         // no sends before this time (ms): the server said to wait
    connecting: false,
    ready: false,           // joined (or deliberately not joining): sends may go out
    joinPending: false,
    attempt: 0,             // reconnect attempts since the last welcome
    timer: null,
    heartbeat: null,
    lastFrameAt: 0,
    fatal: null             // "expired" | "refused": stop reconnecting until something changes
  };

  var chat = {
    ticket: null,           // {number, status, pendingReason, subject}
    statusNote: "",         // the status line: what the last status change means for the person
    lastSeq: 0,             // the highest seq received in a `message` frame (resume point)
    bySeq: {},
    byClientId: {},
    creating: null,         // client_msg_id of the send that opens the conversation
    skipJoin: false,        // "start a new conversation": do not rejoin the old one
    ticketWaiters: [],      // uploads waiting for the conversation to exist
    queue: null,            // the last `queue` frame
    agentAnswered: false,
    agentReadSeq: 0,
    readSent: 0,
    unread: 0,
    rated: false,
    ratingChecked: null,    // ticket number whose rating we looked up
    uploading: false,
    restoredFor: null       // whose unsent messages and draft this page took back
  };

  var outbox = [];          // {id, body, attachmentIds, sentOn, entry}
  // Articles suggested for the first message (deflection): the key ties them to the ticket.
  var deflect = { key: null, shown: false, timer: null, asked: "" };
  var serviceStatus = { fetchedAt: 0 };
  var typingState = { active: false, sentAt: 0, idle: null };
  var timers = { typing: null, read: null, notice: null, retry: null };
  var ui = {};

  /* ------------------------------------------------------------------ credentials */

  function canRenew() {
    return Boolean(auth.provider || auth.tokenUrl);
  }

  /* A JWT's claims, read without verifying: to plan renewals and to tell whose it is. */
  function tokenClaims(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (part.length % 4) {
        part += "=";
      }
      var claims = JSON.parse(atob(part));
      return claims && typeof claims === "object" ? claims : {};
    } catch (error) {
      return {};
    }
  }

  /* The `exp` claim of a JWT (seconds). */
  function tokenExpiry(token) {
    var claims = tokenClaims(token);
    return typeof claims.exp === "number" ? claims.exp : null;
  }

  /* Who is writing, for what this tab keeps of them (unsent messages, the draft): never
   * another person's after a sign-in or a new visitor id. Null until known. */
  function identityKey() {
    if (auth.mode === "customer") {
      var subject = auth.token ? tokenClaims(auth.token).sub : null;
      return typeof subject === "string" && subject ? "c:" + subject : null;
    }
    var visitor = auth.visitor;
    if (!visitor) {
      try {
        visitor = JSON.parse(storageGet("visitor") || "null");
      } catch (error) { /* none usable */ }
    }
    return visitor && visitor.visitor_id ? "v:" + visitor.visitor_id : null;
  }

  function tokenFresh(token) {
    var exp = token ? tokenExpiry(token) : null;
    return Boolean(token) && (exp === null || exp * 1000 > Date.now() + 5000);
  }

  /* A new customer JWT from the host: the provider function, else data-token-url. */
  function fetchFreshToken() {
    if (!auth.pending) {
      auth.pending = requestFreshToken();
      var done = function () { auth.pending = null; };
      auth.pending.then(done, done);
    }
    return auth.pending;
  }

  function requestFreshToken() {
    var request;
    if (auth.provider) {
      request = Promise.resolve().then(function () { return auth.provider(); });
    } else if (auth.tokenUrl) {
      request = fetch(new URL(auth.tokenUrl, location.href).href, {
        credentials: "include", cache: "no-store", headers: { Accept: "application/json" }
      }).then(function (response) {
        if (!response.ok) {
          throw new Error("token url answered " + response.status);
        }
        var type = response.headers.get("content-type") || "";
        return type.indexOf("json") >= 0
          ? response.json().then(function (data) { return data && data.token; })
          : response.text();
      });
    } else {
      return Promise.reject(new Error("no way to renew the token"));
    }
    return request.then(function (token) {
      token = typeof token === "string" ? token.trim() : "";
      if (!token) {
        throw new Error("the token provider gave no token");
      }
      auth.token = token;
      return token;
    });
  }

  function customerToken() {
    if (tokenFresh(auth.token) || !canRenew()) {
      return auth.token ? Promise.resolve(auth.token)
                        : Promise.reject(new Error("no customer token"));
    }
    return fetchFreshToken();
  }

  /* The visitor's id and token: remembered in localStorage, else asked for once. */
  function visitorCredentials() {
    if (auth.visitor) {
      return Promise.resolve(auth.visitor);
    }
    var stored = storageGet("visitor");
    if (stored) {
      try {
        var parsed = JSON.parse(stored);
        if (parsed && typeof parsed.token === "string") {
          auth.visitor = parsed;
          return Promise.resolve(parsed);
        }
      } catch (error) { /* fall through: ask for a new one */ }
    }
    if (auth.visitorPending) {
      return auth.visitorPending; // one visitor id, even if the socket and a REST call race
    }
    auth.visitorPending = fetch(BASE + "/api/v1/visitors", { method: "POST",
                                                            credentials: "omit" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("visitor id refused: " + response.status);
        }
        return response.json();
      }).then(function (data) {
        auth.visitor = { visitor_id: data.visitor_id, token: data.token };
        storageSet("visitor", JSON.stringify(auth.visitor));
        return auth.visitor;
      });
    var done = function () { auth.visitorPending = null; };
    auth.visitorPending.then(done, done);
    return auth.visitorPending;
  }

  function forgetVisitor() {
    auth.visitor = null;
    storageSet("visitor", null);
  }

  /* What the `hello` frame carries. */
  function helloCredentials() {
    if (auth.mode === "customer") {
      return customerToken().then(function (token) { return { token: token }; });
    }
    return visitorCredentials().then(function (visitor) { return { visitor: visitor.token }; });
  }

  /* Headers for REST calls: the same credentials, never cookies. */
  function requestHeaders() {
    if (auth.mode === "customer") {
      return customerToken().then(function (token) {
        return { Authorization: "Bearer " + token };
      });
    }
    return visitorCredentials().then(function (visitor) {
      return { "X-Kefu-Visitor": visitor.token };
    });
  }

  /* Renew the token a minute before it expires, over the open connection (`auth` frame). */
  function scheduleRenewal() {
    clearTimeout(auth.renewTimer);
    auth.renewTimer = null;
    if (auth.mode !== "customer" || !canRenew() || !auth.token) {
      return;
    }
    var exp = tokenExpiry(auth.token);
    if (exp === null) {
      return;
    }
    var delay = Math.max(5000, (exp - RENEW_BEFORE_S) * 1000 - Date.now());
    auth.renewTimer = setTimeout(renewToken, Math.min(delay, 2147483000));
  }

  function renewToken() {
    fetchFreshToken().then(function (token) {
      if (conn.ready) {
        sendFrame({ type: "auth", token: token }); // answered by `authed`
      }
    }, function () {
      auth.renewTimer = setTimeout(renewToken, 15000); // try again; 4408 may come first
    });
  }

  /* ------------------------------------------------------------------ REST calls */

  function apiError(status, data) {
    var detail = data && data.error ? data.error : {};
    var error = new Error(detail.message || "HTTP " + status);
    error.code = detail.code || "http_" + status;
    error.status = status;
    return error;
  }

  function readJson(text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      return null;
    }
  }

  /* fetch() against Kefu with the widget's credentials; one retry with a fresh token on 401. */
  function api(method, path, body, as, retried) {
    return requestHeaders().then(function (headers) {
      var init = { method: method, headers: headers, credentials: "omit", cache: "no-store" };
      if (body !== null && body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      return fetch(BASE + path, init);
    }).then(function (response) {
      if (response.status === 401 && auth.mode === "customer" && canRenew() && !retried) {
        return fetchFreshToken().then(function () { return api(method, path, body, as, true); });
      }
      if (!response.ok) {
        return response.text().then(function (text) {
          throw apiError(response.status, readJson(text));
        });
      }
      return as === "blob" ? response.blob() : response.json();
    });
  }

  /* Upload with XMLHttpRequest (fetch cannot report upload progress). onStart gets the
   * request, so the person can abort it (the promise then fails with error.cancelled). */
  function uploadFile(number, file, onProgress, onStart) {
    return requestHeaders().then(function (headers) {
      return new Promise(function (resolve, reject) {
        var xhr = new XMLHttpRequest();
        xhr.open("POST", BASE + "/api/v1/tickets/" + encodeURIComponent(number) + "/attachments");
        Object.keys(headers).forEach(function (name) {
          xhr.setRequestHeader(name, headers[name]);
        });
        xhr.upload.onprogress = function (event) {
          if (event.lengthComputable) {
            onProgress(event.loaded / event.total);
          }
        };
        xhr.onload = function () {
          var data = readJson(xhr.responseText);
          if (xhr.status >= 200 && xhr.status < 300 && data && data.id) {
            resolve(data);
          } else {
            reject(apiError(xhr.status, data));
          }
        };
        xhr.onerror = function () {
          var error = new Error(t("networkError"));
          error.network = true;
          reject(error);
        };
        xhr.onabort = function () {
          var error = new Error("cancelled");
          error.cancelled = true;
          reject(error);
        };
        var form = new FormData();
        form.append("file", file, file.name || "file");
        xhr.send(form);
        onStart(xhr);
      });
    });
  }

  /* Save a Blob as a file: transcripts and attachments need our headers, so no plain link. */
  function saveBlob(blob, filename) {
    clearNoticeAbout("download");
    var url = URL.createObjectURL(blob);
    var link = el("a", { href: url, download: filename, rel: "noopener" });
    ui.root.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 30000);
  }

  /* The browser's IANA time zone ("Asia/Shanghai"), so the transcript's times are the ones
   * the widget showed; "" where the browser does not say (the server then uses UTC). */
  function browserTimeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function downloadTranscript(format) {
    if (!chat.ticket) {
      return;
    }
    var number = chat.ticket.number;
    var path = "/api/v1/tickets/" + encodeURIComponent(number) + "/transcript?format=" + format +
      "&lang=" + encodeURIComponent(LANG);
    var zone = browserTimeZone();
    api("GET", zone ? path + "&tz=" + encodeURIComponent(zone) : path, null, "blob")
      .catch(function (error) {
        // A zone the server's time zone database does not know: in UTC, as named inside.
        if (zone && error && error.code === "invalid_time_zone") {
          return api("GET", path, null, "blob");
        }
        throw error;
      }).then(function (blob) {
        saveBlob(blob, number + "." + format);
      }, function (error) {
        showNotice(t("downloadFailed", { message: error.message }), "error", false, null,
                   "download");
      });
  }

  function downloadAttachment(attachment) {
    api("GET", "/api/v1/attachments/" + encodeURIComponent(attachment.id), null, "blob")
      .then(function (blob) {
        saveBlob(blob, attachment.filename || "attachment");
      }, function (error) {
        showNotice(t("downloadFailed", { message: error.message }), "error", false, null,
                   "download");
      });
  }

  /* ------------------------------------------------------------------ the connection */

  function sendFrame(frame) {
    if (conn.ws && conn.ws.readyState === 1) {
      conn.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  /* Open the socket: hello (credentials) → welcome → join → joined + replayed messages. */
  function connect() {
    if (conn.ws || conn.connecting || conn.fatal) {
      return;
    }
    clearTimeout(conn.timer);
    conn.timer = null;
    conn.connecting = true;
    setStatus("connecting");
    helloCredentials().then(function (hello) {
      conn.connecting = false;
      restoreUnsent(); // the person is known now, if the page did not know them before
      if (conn.ws || conn.fatal) {
        return;
      }
      var ws;
      try {
        ws = new WebSocket(WS_URL);
      } catch (error) {
        scheduleReconnect(); // e.g. the host page's CSP blocks connect-src to Kefu
        return;
      }
      conn.ws = ws;
      conn.serial += 1;
      conn.ready = false;
      ws.onopen = function () {
        // The language opens a new conversation in the right language queue.
        ws.send(JSON.stringify(Object.assign({ type: "hello", v: 1, language: LANG }, hello)));
      };
      ws.onmessage = function (event) {
        if (conn.ws !== ws) {
          return;
        }
        conn.lastFrameAt = Date.now();
        var frame = readJson(event.data);
        if (frame && typeof frame.type === "string") {
          handleFrame(frame);
        }
      };
      ws.onclose = function (event) {
        if (conn.ws !== ws) {
          return;
        }
        detach();
        onClosed(event.code);
      };
    }, function () {
      conn.connecting = false;
      if (auth.mode === "customer" && !canRenew() && !auth.token) {
        sessionExpired();
      } else {
        scheduleReconnect();
      }
    });
  }

  /* Forget the current socket (it may still be closing) and what belonged to it. */
  function detach() {
    conn.ws = null;
    conn.ready = false;
    conn.joinPending = false;
    chat.creating = null;
    clearInterval(conn.heartbeat);
    conn.heartbeat = null;
    typingState.active = false;
  }

  /* Close on purpose (new identity, new conversation, dead socket) without the close handler. */
  function dropConnection() {
    var ws = conn.ws;
    detach();
    if (ws) {
      ws.onclose = null;
      try {
        ws.close(1000, "client closing");
      } catch (error) { /* already closing */ }
    }
  }

  /* Close codes (protocol.Close): what to do next. */
  function onClosed(code) {
    if (code === 4408 || (code === 4401 && auth.mode === "customer")) {
      // The token expired (or was refused): ask the host for a fresh one, then resume.
      auth.failures += 1;
      if (!canRenew() || auth.failures > 3) {
        sessionExpired();
        return;
      }
      setStatus("connecting");
      fetchFreshToken().then(connect, function () {
        if (auth.failures > 2) {
          sessionExpired();
        } else {
          scheduleReconnect();
        }
      });
      return;
    }
    if (code === 4401) {
      // A visitor token the server no longer accepts (e.g. a rotated secret): start over.
      auth.visitorResets += 1;
      forgetVisitor();
      if (auth.visitorResets > 2) {
        refused(code);
      } else {
        scheduleReconnect();
      }
      return;
    }
    if (code === 4400 || code === 4403 || code === 4409) {
      refused(code);
      return;
    }
    // 1001 (restart), 1006 (network), 1008 (slow reader), 1011, 4429 (flood): back off, resume.
    scheduleReconnect(code === 4429 ? 30000 : 0);
  }

  /* Exponential backoff with jitter ("equal jitter": half fixed, half random). */
  function scheduleReconnect(minimumMs) {
    if (conn.timer || conn.fatal) {
      return;
    }
    var cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, conn.attempt));
    var delay = Math.max(minimumMs || 0, cap / 2 + Math.random() * cap / 2);
    conn.attempt += 1;
    if (navigator.onLine === false) {
      setStatus("offline");
    } else {
      setStatus("reconnecting", { seconds: Math.ceil(delay / 1000) });
    }
    conn.timer = setTimeout(function () {
      conn.timer = null;
      connect();
    }, delay);
  }

  function refused(code) {
    conn.fatal = "refused";
    setStatus("offline");
    showNotice(t("error.fatal", { message: code }), "error", true);
  }

  function sessionExpired() {
    conn.fatal = "expired";
    dropConnection();
    setStatus("expired");
    showNotice(t("expired"), "error", true, { label: t("refresh"), run: function () {
      location.reload();
    } });
    updateComposer();
  }

  /* A ping when nothing was heard for 25 s; a connection silent for 35 s (no pong) is dead
   * even if the OS has not noticed. */
  function startHeartbeat() {
    clearInterval(conn.heartbeat);
    conn.pingedAt = 0;
    conn.heartbeat = setInterval(function () {
      var quiet = Date.now() - conn.lastFrameAt;
      if (quiet > SILENCE_MS) {
        dropConnection();
        scheduleReconnect();
      } else if (quiet > PING_EVERY_MS && Date.now() - conn.pingedAt > PING_EVERY_MS) {
        conn.pingedAt = Date.now();
        sendFrame({ type: "ping", t: conn.pingedAt });
      }
    }, HEARTBEAT_CHECK_MS);
  }

  /* ------------------------------------------------------------------ server frames */

  function handleFrame(frame) {
    switch (frame.type) {
      case "welcome": return onWelcome();
      case "joined": return onJoined(frame);
      case "message": return onMessage(frame);
      case "ack": return onAck(frame);
      case "typing": return onTyping(frame);
      case "read": return onRead(frame);
      case "ticket": return onTicket(frame);
      case "queue": return onQueue(frame);
      case "error": return onError(frame);
      case "authed": return scheduleRenewal();
      case "feedback_recorded": return onFeedbackRecorded(frame);
      default: return undefined; // pong, and frame types this version does not know
    }
  }

  /* welcome: we are in. Resume the conversation: join {ticket, since: last seq}. */
  function onWelcome() {
    restoreUnsent();
    conn.attempt = 0;
    auth.failures = 0;
    auth.visitorResets = 0;
    setStatus("online");
    if (!conn.fatal && !ui.notice.topic) {
      clearNotice(true);  // the connection's own trouble, not a refused file or message
    }
    startHeartbeat();
    scheduleRenewal();
    if (chat.skipJoin && !chat.ticket) {
      // A fresh conversation: the first send opens it (the server then sends `joined`).
      conn.ready = true;
      flushOutbox();
      return;
    }
    var join = { type: "join", since: chat.ticket ? chat.lastSeq : 0 };
    if (chat.ticket) {
      join.ticket = chat.ticket.number;
    }
    conn.joinPending = true;
    sendFrame(join);
  }

  /* joined: {ticket: {number, status, pending_reason, subject} | null}; the missed messages
     follow. */
  function onJoined(frame) {
    conn.joinPending = false;
    if (frame.ticket) {
      if (chat.ticket && chat.ticket.number !== frame.ticket.number) {
        resetConversation(); // another conversation than the one on screen
      }
      setTicket(frame.ticket);
      if (frame.agent_read_seq) {  /* support's stored read point: "Read" survives a reload */
        onRead({ by: { kind: "agent" }, seq: frame.agent_read_seq });
      }
      /* our own stored point: what was read on another device is not unread here */
      chat.readSent = Math.max(chat.readSent, frame.read_seq || 0);
    }
    conn.ready = true;
    flushOutbox();
    renderIntro();
    scheduleRead();  /* seen while the connection was down: say so now */
  }

  /* message: render in seq order; our own optimistic copy is found by client_msg_id. */
  function onMessage(frame) {
    if (!chat.ticket || frame.ticket !== chat.ticket.number || !(frame.seq > 0)) {
      return;
    }
    var entry = chat.bySeq[frame.seq] ||
      (frame.client_msg_id ? chat.byClientId[frame.client_msg_id] : null);
    var own = frame.author && frame.author.kind === "customer";
    if (entry) {
      entry.seq = frame.seq;
      renderEntry(entry, frame, entry.state === "read" ? "read" : own ? "sent" : null);
    } else {
      entry = { el: el("li", { class: "msg", "data-testid": "kefu-message" }), seq: frame.seq,
                clientId: frame.client_msg_id || null, own: own, state: null };
      renderEntry(entry, frame, own ? (frame.seq <= chat.agentReadSeq ? "read" : "sent") : null);
    }
    chat.bySeq[frame.seq] = entry;
    if (frame.client_msg_id) {
      chat.byClientId[frame.client_msg_id] = entry;
      dropFromOutbox(frame.client_msg_id); // an ack lost with a connection: the echo confirms it
    }
    chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
    var following = nearEnd();  /* measured before the message makes the list longer */
    placeEntry(entry);
    if (!own) {
      showTyping(null);
      if (frame.author && frame.author.kind === "agent") {
        chat.agentAnswered = true;
        renderQueue();
      }
      if (!panelVisible() && frame.seq > chat.readSent) {
        chat.unread += 1;
        renderUnread();
      }
    }
    renderIntro();
    if (own) {
      scrollToEnd(true);
    } else if (following) {
      showEntry(entry);
    }
    scheduleRead();
  }

  /* ack: the send is committed. It names the conversation (the first send opens it). */
  function onAck(frame) {
    var item = dropFromOutbox(frame.client_msg_id);
    var entry = (item && item.entry) || chat.byClientId[frame.client_msg_id];
    if (chat.creating === frame.client_msg_id) {
      chat.creating = null;
    }
    if (!chat.ticket && frame.ticket) {
      setTicket({ number: frame.ticket, status: "new", subject: "" });
    }
    if (entry) {
      if (!entry.seq || !chat.bySeq[frame.seq] || chat.bySeq[frame.seq] === entry) {
        entry.seq = frame.seq;
        entry.id = frame.id;
        chat.bySeq[frame.seq] = entry;
        entry.createdAt = frame.created_at;
        setEntryState(entry, frame.seq <= chat.agentReadSeq ? "read" : "sent");
        placeEntry(entry);
      }
    }
    clearNoticeAbout("send");  /* a message went through: an earlier refusal is history */
    flushOutbox();
  }

  function onTyping(frame) {
    var who = frame.who || {};
    if (who.kind === "customer") {
      return;
    }
    showTyping(frame.state ? (who.name || t("author." + (who.kind || "agent"))) : null);
  }

  /* read: the agent read up to seq; our messages up to it show "Read". */
  function onRead(frame) {
    if (!frame.by || frame.by.kind === "customer" || !(frame.seq > chat.agentReadSeq)) {
      return;
    }
    chat.agentReadSeq = frame.seq;
    Object.keys(chat.bySeq).forEach(function (seq) {
      var entry = chat.bySeq[seq];
      if (entry.own && entry.seq <= frame.seq && entry.state === "sent") {
        setEntryState(entry, "read");
      }
    });
  }

  /* ticket: {change, state: {number, status, pending_reason}}: status, rating done
     elsewhere, … */
  function onTicket(frame) {
    if (!chat.ticket || !frame.state || frame.state.number !== chat.ticket.number) {
      return;
    }
    noteStatusChange(chat.ticket, frame.state);
    chat.ticket.status = frame.state.status;
    chat.ticket.pendingReason = frame.state.pending_reason || null;
    if (frame.change === "rating") {
      chat.rated = true;
    }
    renderTicket();
  }

  /* queue: {position, eta_s}; position 0 = no longer waiting. */
  function onQueue(frame) {
    chat.queue = frame;
    renderQueue();
  }

  /* error: {code, message, ref?, retry_after_s?, fatal?}. With ref, it concerns that send. */
  function onError(frame) {
    if (frame.ref) {
      var item = findOutbox(frame.ref);
      if (!item) {
        return;
      }
      if (chat.creating === frame.ref) {
        chat.creating = null;
      }
      if (frame.code === "rate_limited" || frame.code === "not_saved") {
        // Send it again, same client_msg_id, after the pause; nothing after it goes first.
        item.sentOn = 0;
        var pauseMs = Math.max(1, frame.retry_after_s || 1) * 1000;
        conn.pausedUntil = Date.now() + pauseMs;
        clearTimeout(timers.retry);
        timers.retry = setTimeout(flushOutbox, pauseMs + 20);
        if (frame.code === "rate_limited") {
          showNotice(t("slowDown"), "info");
        }
        return;
      }
      dropFromOutbox(frame.ref);
      setEntryState(item.entry, "failed");
      var known = "error." + frame.code;
      showNotice(frame.code === "cooling_down" ? cooldownText(frame.retry_after_s) :
                 STR[known] ? t(known) : t("error.generic", { message: frame.message }),
                 "error", false, null, "send");
      if (frame.code === "ticket_closed" || frame.code === "reopen_window_passed") {
        if (chat.ticket) {
          chat.ticket.status = "closed";
        }
        renderTicket();
      }
      rejectTicketWaiters(new Error(frame.message || frame.code));
      flushOutbox();
      return;
    }
    if (conn.joinPending && (frame.code === "not_found" || frame.code === "not_following")) {
      // The conversation we knew is gone for us (merged, removed): start from the latest one.
      conn.joinPending = false;
      resetConversation();
      conn.joinPending = true;
      sendFrame({ type: "join", since: 0 });
      return;
    }
    if (frame.fatal && frame.code !== "token_expired") {
      showNotice(t("error.fatal", { message: frame.message || frame.code }), "error");
    }
    // Others (rate limits on typing/read, invalid frames) need nothing from the person.
  }

  /* cooling_down: the person is paused after abuse; say when they may write again. */
  function cooldownText(retryAfterS) {
    var minutes = Math.max(1, Math.ceil((retryAfterS || 60) / 60));
    return minutes === 1 ? t("cooldownOneMinute") : t("cooldown", { minutes: minutes });
  }

  /* ------------------------------------------------------------------ sending */

  function findOutbox(clientId) {
    for (var i = 0; i < outbox.length; i++) {
      if (outbox[i].id === clientId) {
        return outbox[i];
      }
    }
    return null;
  }

  function dropFromOutbox(clientId) {
    var item = findOutbox(clientId);
    if (item) {
      outbox.splice(outbox.indexOf(item), 1);
      saveUnsent();
    }
    return item;
  }

  /* What was sent but not acknowledged survives a reload of this tab (sessionStorage, per
   * person) and goes again with the same client_msg_id: stored once whatever happened. */
  function saveUnsent() {
    var key = identityKey();
    if (key) {
      sessionSet("unsent:" + key, JSON.stringify(outbox.map(function (item) {
        return { id: item.id, body: item.body, attachmentIds: item.attachmentIds,
                 attachments: item.attachments || [] };
      })));
    }
  }

  function restoreUnsent() {
    var key = identityKey();
    if (!key || chat.restoredFor === key) {
      return;
    }
    chat.restoredFor = key;
    var saved = [];
    try {
      saved = JSON.parse(sessionGet("unsent:" + key) || "[]");
    } catch (error) { /* nothing usable */ }
    var typedSince = outbox.splice(0, outbox.length);
    (Array.isArray(saved) ? saved : []).forEach(function (item) {
      if (item && typeof item.id === "string" && typeof item.body === "string" &&
          !typedSince.some(function (other) { return other.id === item.id; })) {
        queueMessage(item.body, item.attachmentIds, item.attachments, item.id);
      }
    });
    typedSince.forEach(function (item) { outbox.push(item); });
    saveUnsent();
    var draft = sessionGet("draft:" + key);
    if (draft && ui.input && !ui.input.value) {
      ui.input.value = draft;
      autosize();
    }
  }

  /* Not before the saved draft was taken back: typing first would overwrite it. */
  function saveDraft() {
    var key = identityKey();
    if (key && chat.restoredFor === key) {
      sessionSet("draft:" + key, ui.input.value);
    }
  }

  /* Show the message at once ("sending…"), then send it when the connection is ready. */
  function queueMessage(body, attachmentIds, attachments, restoredId) {
    var id = restoredId || randomId();
    var entry = { el: el("li", { class: "msg", "data-testid": "kefu-message" }), seq: 0,
                  clientId: id, own: true, state: null };
    renderEntry(entry, { body: body, author: { kind: "customer" },
                         attachments: attachments || [], created_at: new Date().toISOString() },
                "sending");
    entry.attachmentIds = attachmentIds || [];
    chat.byClientId[id] = entry;
    placeEntry(entry);
    outbox.push({ id: id, body: body, attachmentIds: attachmentIds || [], sentOn: 0,
                  entry: entry, attachments: attachments || [] });
    saveUnsent();
    renderIntro();
    scrollToEnd(true);
    flushOutbox();
    connect();
    return id;
  }

  /* Send the oldest unacknowledged message, one at a time: the next goes when its ack comes
   * (onAck calls this again), so a send refused for a while (rate_limited, not_saved) cannot
   * be overtaken by a later one, and the first send opens the conversation alone. After a
   * reconnect the unacknowledged go again with the same client_msg_id (sends are
   * idempotent). A person types far slower than a round trip, so nothing waits in practice. */
  function flushOutbox() {
    if (!conn.ready || !outbox.length || Date.now() < (conn.pausedUntil || 0)) {
      return;
    }
    var item = outbox[0];
    if (item.sentOn === conn.serial) {
      return; // on its way
    }
    var frame = { type: "send", client_msg_id: item.id, body: item.body };
    if (chat.ticket) {
      frame.ticket = chat.ticket.number;
    } else {
      chat.creating = item.id;
    }
    if (item.attachmentIds.length) {
      frame.attachment_ids = item.attachmentIds;
    }
    if (sendFrame(frame)) {
      item.sentOn = conn.serial;
    }
  }

  function retryMessage(entry) {
    if (findOutbox(entry.clientId)) {
      return;
    }
    setEntryState(entry, "sending");
    var body = entry.body;
    outbox.push({ id: entry.clientId, body: body, attachmentIds: entry.attachmentIds || [],
                  sentOn: 0, entry: entry });
    saveUnsent();
    placeEntry(entry);
    flushOutbox();
    connect();
  }

  function submitComposer() {
    var body = ui.input.value.trim();
    if (!body || conn.fatal === "expired") {
      return;
    }
    if (body.length > MAX_BODY_CHARS) {
      body = body.slice(0, MAX_BODY_CHARS);
    }
    ui.input.value = "";
    showLimit("");
    saveDraft();
    autosize();
    stopTyping();
    queueMessage(body);
    ui.input.focus();
  }

  /* The box holds MAX_BODY_CHARS (its maxlength): the browser cuts a paste there and stops
     typing without a word. The hint under the box says so, politely, until the message is
     under the limit again: "shortened to" when an insert (a paste, a drop) did not fit,
     "at the limit" when typing reaches it. */
  function showLimit(which) {
    var limit = { limit: MAX_BODY_CHARS.toLocaleString(LANG) };
    var text = which === "cut" ? t("limitShortened", limit) :
      which === "full" ? t("limitReached", limit) : "";
    if (ui.limitHint.textContent !== text) {
      ui.limitHint.textContent = text;
    }
  }

  /* `incoming` is about to replace the box's selection; `cut`: it is a paste or a drop (what
     fits goes in) rather than a keystroke. */
  function noteOverflow(incoming, cut) {
    var box = ui.input;
    var kept = box.value.length - Math.abs(box.selectionEnd - box.selectionStart);
    if (kept + incoming.replace(/\r\n?/g, "\n").length > MAX_BODY_CHARS) {
      showLimit(cut && kept < MAX_BODY_CHARS ? "cut" : "full");
    }
  }

  function onComposerBeforeInput(event) {
    var type = event.inputType || "";
    if (type.indexOf("insert") !== 0 || type === "insertFromPaste" || event.isComposing) {
      return;  // a paste: the paste listener has its text; Chinese input: onComposerInput
    }
    var incoming = event.data || (event.dataTransfer && event.dataTransfer.getData("text/plain")) ||
      (type === "insertLineBreak" || type === "insertParagraph" ? "\n" : "");
    noteOverflow(incoming, type === "insertFromDrop" || type === "insertReplacementText");
  }

  /* typing: state true at most every 3 s while keys are pressed, false after 4 s idle. */
  function onComposerInput() {
    if (ui.input.value.length < MAX_BODY_CHARS) {
      showLimit("");
    } else if (!ui.limitHint.textContent) {
      showLimit("full");
    }
    autosize();
    saveDraft();
    if (!chat.ticket && !outbox.length) {
      clearTimeout(deflect.timer);
      deflect.timer = setTimeout(suggestArticles, SUGGEST_AFTER_MS);
    }
    if (!chat.ticket || !conn.ready) {
      return;
    }
    if (!ui.input.value.trim()) {
      stopTyping();
      return;
    }
    var now = Date.now();
    if (!typingState.active || now - typingState.sentAt > TYPING_EVERY_MS) {
      sendFrame({ type: "typing", ticket: chat.ticket.number, state: true });
      typingState.active = true;
      typingState.sentAt = now;
    }
    clearTimeout(typingState.idle);
    typingState.idle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingState.idle);
    if (typingState.active && chat.ticket) {
      sendFrame({ type: "typing", ticket: chat.ticket.number, state: false });
    }
    typingState.active = false;
  }

  /* ------------------------------------------------------------------ help center */

  /* Before the first message becomes a ticket: articles that may answer it (no credentials
     needed; the returned key is sent back once the ticket exists, see setTicket). */
  function suggestArticles() {
    var text = ui.input.value.trim();
    var minimum = HAN.test(text) ? 2 : SUGGEST_MIN_CHARS;
    if (chat.ticket || outbox.length || text.length < minimum || text === deflect.asked) {
      return;
    }
    deflect.asked = text;
    var body = { q: text.slice(0, 1000), lang: LANG };
    if (deflect.key) {
      body.key = deflect.key;
    }
    fetch(BASE + "/api/v1/kb/suggestions", {
      method: "POST", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      if (!data || chat.ticket || outbox.length) {
        return;
      }
      deflect.key = data.key;
      renderSuggestions(data.items || []);
    }, function () { /* suggestions are a nicety: stay quiet */ });
  }

  function renderSuggestions(items) {
    ui.suggestList.textContent = "";
    items.forEach(function (item) {
      var parts = String(item.url).split("#");
      var href = BASE + parts[0] + "?deflection=" + encodeURIComponent(deflect.key) +
        (parts[1] ? "#" + parts[1] : "");
      ui.suggestList.appendChild(el("li", {}, [
        el("a", { href: href, target: "_blank", rel: "noopener", lang: item.lang,
                  "data-testid": "kefu-suggestion" }, item.title)]));
    });
    deflect.shown = deflect.shown || items.length > 0;
    ui.suggest.hidden = !items.length;
  }

  /* The customer wrote anyway: the suggestions did not deflect this conversation. */
  function reportSubmitted(number) {
    var key = deflect.key;
    var shown = deflect.shown;
    clearTimeout(deflect.timer);
    deflect = { key: null, shown: false, timer: null, asked: "" };
    if (ui.suggest) {
      ui.suggest.hidden = true;
    }
    if (key && shown) {
      api("POST", "/api/v1/kb/deflections/" + encodeURIComponent(key) + "/submitted",
          { ticket: number }).then(null, function () { /* not worth bothering the customer */ });
    }
  }

  /* One status entry: its title; a network entry whose title does not name the network
     ("Ethereum upgrade") also says which coin, network and direction, and how they are. */
  function serviceLine(item) {
    var title = item.title || "";
    if (item.kind !== "network" || !item.network || namesWord(title, String(item.network))) {
      return title;
    }
    var what = [item.coin, item.network, item.direction ? t("status_direction." + item.direction) : ""]
      .filter(Boolean).join(" ");
    return t("status_network", { title: title, what: what, state: t("status_state." + item.state) });
  }

  /* Whether `text` has `word` as a whole word, in any case: "OP withdrawals" names the
     network OP, "stopped during an upgrade" does not (a Latin letter or a digit next to it
     means it is part of another word). CJK text is written without spaces, so a Han
     character next to the name does not make it part of a word. */
  var WORD_CHAR = /[0-9A-Za-z\u00c0-\u024f]/;

  function namesWord(text, word) {
    var haystack = text.toLowerCase();
    var needle = word.toLowerCase();
    if (!needle) {
      return false;
    }
    for (var at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
      var before = at > 0 ? haystack.charAt(at - 1) : "";
      var after = haystack.charAt(at + needle.length);
      if (!WORD_CHAR.test(before) && !WORD_CHAR.test(after)) {
        return true;
      }
    }
    return false;
  }

  /* Incidents, maintenance and delayed networks from the status page, as a banner. */
  function refreshServiceStatus() {
    if (Date.now() - serviceStatus.fetchedAt < STATUS_EVERY_MS) {
      return;
    }
    serviceStatus.fetchedAt = Date.now();
    fetch(BASE + "/api/v1/status?scope=current&lang=" + encodeURIComponent(LANG),
          { credentials: "omit", cache: "no-store" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      var items = ((data && data.items) || []).filter(function (item) {
        return item.kind !== "network" || item.state !== "operational";
      });
      // Most serious first (the server's order): a dozen notices would bury the chat.
      var lines = items.slice(0, STATUS_SHOWN).map(serviceLine);
      if (items.length > STATUS_SHOWN) {
        lines.push(t("status_more", { count: items.length - STATUS_SHOWN }));
      }
      ui.serviceStatusText.textContent = lines.join(" · ");
      ui.serviceStatus.hidden = !items.length;
    }, function () { /* keep what is shown */ });
  }

  /* read: tell the agent what we have seen, only while the panel is really visible. */
  function scheduleRead() {
    if (!panelVisible() || !chat.ticket || chat.lastSeq <= chat.readSent) {
      return;
    }
    clearTimeout(timers.read);
    timers.read = setTimeout(function () {
      if (panelVisible() && conn.ready && chat.ticket && chat.lastSeq > chat.readSent &&
          sendFrame({ type: "read", ticket: chat.ticket.number, seq: chat.lastSeq })) {
        chat.readSent = chat.lastSeq;
        storageSet("read:" + chat.ticket.number, String(chat.readSent));
      }
    }, 300);
  }

  /* ------------------------------------------------------------------ conversations */

  function setTicket(ticket) {
    var fresh = !chat.ticket || chat.ticket.number !== ticket.number;
    noteStatusChange(fresh ? null : chat.ticket, ticket);
    chat.ticket = { number: ticket.number, status: ticket.status || "new",
                    pendingReason: ticket.pending_reason || null, subject: ticket.subject || "" };
    chat.skipJoin = false;
    if (fresh) {
      chat.readSent = parseInt(storageGet("read:" + ticket.number), 10) || 0;
      storageSet("active", "1");
      reportSubmitted(ticket.number);
    }
    var waiters = chat.ticketWaiters;
    chat.ticketWaiters = [];
    waiters.forEach(function (waiter) { waiter.resolve(ticket.number); });
    renderTicket();
  }

  function rejectTicketWaiters(error) {
    var waiters = chat.ticketWaiters;
    chat.ticketWaiters = [];
    waiters.forEach(function (waiter) { waiter.reject(error); });
  }

  /* Resolves with the conversation's number once it exists, opening it with `introBody`. */
  function ensureTicket(introBody) {
    if (chat.ticket) {
      return Promise.resolve(chat.ticket.number);
    }
    return new Promise(function (resolve, reject) {
      chat.ticketWaiters.push({ resolve: resolve, reject: reject });
      if (introBody || !outbox.length) {
        queueMessage(introBody || t("filesIntro"));
      }
    });
  }

  function resetConversation() {
    chat.ticket = null;
    chat.statusNote = "";
    chat.lastSeq = 0;
    chat.bySeq = {};
    chat.byClientId = {};
    chat.queue = null;
    chat.agentAnswered = false;
    chat.agentReadSeq = 0;
    chat.readSent = 0;
    chat.unread = 0;
    chat.rated = false;
    chat.ratingChecked = null;
    outbox.forEach(function (item) { chat.byClientId[item.id] = item.entry; });
    Array.prototype.slice.call(ui.messages.children).forEach(function (child) {
      var keep = outbox.some(function (item) { return item.entry.el === child; });
      if (!keep) {
        child.remove();
      }
    });
    showTyping(null);
    resetRating();
    renderTicket();
    renderUnread();
    renderIntro();
  }

  /* After resolved/closed: a new conversation. Reconnect without rejoining the old one; the
   * first message opens the new one. */
  function startNewConversation() {
    resetConversation();
    chat.skipJoin = true;
    clearNotice(true);
    dropConnection();
    connect();
    ui.input.focus();
  }

  /* Switch identity (a visitor signs in: setToken). Everything on screen belonged to the old. */
  function restartAs(mode) {
    auth.mode = mode;
    auth.failures = 0;
    outbox.length = 0;
    chat.skipJoin = false;
    resetConversation();
    conn.fatal = null;
    clearNotice(true);
    dropConnection();
    if (ui.open || storageGet("active")) {
      connect();
    }
  }

  /* ------------------------------------------------------------------ rendering */

  function setStatus(state, values) {
    if (!ui.status) {
      return;
    }
    ui.status.setAttribute("data-state", state);
    ui.statusText.textContent = t("status." + state, values);
    updateComposer();
  }

  /* The assistant has no name of its own (the server sends the kind, "assistant", as its
   * name), nor has an author the server names by kind: they are called by the widget's word
   * for them, in the widget's language. */
  function authorName(author, kind) {
    var name = author && author.name;
    var label = t("author." + kind);
    if (kind === "assistant" || kind === "system") {
      return label;
    }
    return name && name !== kind ? name : label;
  }

  /* Support's, the assistant's and Kefu's messages as text with their links made links:
     web addresses, and paths on this Kefu server (a help article, an identity check) made
     absolute, so that they open from the exchange's page. The customer's own text stays text. */
  var LINK = /(^|[\s(\uFF08])((?:https?:\/\/|\/(?:help|verify|portal)\/)[^\s<>()\uFF08\uFF09]+)/g;

  function linked(text) {
    var nodes = [], at = 0, match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(text))) {
      var url = match[2].replace(/[.,;:!?\u3002\uFF0C\uFF1B\uFF1A\uFF01\uFF1F]+$/, "");
      var start = match.index + match[1].length;
      nodes.push(document.createTextNode(text.slice(at, start)));
      var href = url.charAt(0) === "/" ? BASE + url : url;
      nodes.push(el("a", { href: href, target: "_blank", rel: "noopener noreferrer",
                           "data-testid": "kefu-link" }, url));
      at = start + url.length;
      LINK.lastIndex = at;
    }
    nodes.push(document.createTextNode(text.slice(at)));
    return nodes;
  }

  function renderEntry(entry, message, state) {
    var li = entry.el;
    var author = (message.author && message.author.kind) || "agent";
    entry.body = message.body;
    entry.author = author;
    if (message.id) {
      entry.id = message.id;
    }
    if (message.created_at) {
      entry.createdAt = message.created_at;
    }
    li.textContent = "";
    li.className = "msg msg-" + (entry.own ? "own" : author === "system" ? "system" : "other");
    li.setAttribute("data-author", author);
    li.setAttribute("data-seq", entry.seq ? String(entry.seq) : "");
    if (!entry.own && author !== "system") {
      li.appendChild(el("div", { class: "msg-name" }, authorName(message.author, author)));
    }
    var bubble = el("div", { class: "msg-bubble" });
    // dir=auto: Arabic or Hebrew reads right to left, numbers and Latin words inside it too.
    bubble.appendChild(el("div", { class: "msg-body", dir: "auto" },
                          author === "customer" ? hiddenLabels(message.body || "")
                            : linked(message.body || "")));
    if (message.anti_phishing_code && !entry.own) {
      /* the code the customer chose: only real messages from support carry it */
      bubble.appendChild(el("div", { class: "msg-code", "data-testid": "kefu-antiphishing" },
                            t("antiphishing", { code: message.anti_phishing_code })));
    }
    var files = message.attachments || [];
    if (files.length) {
      var list = el("ul", { class: "msg-files" });
      files.forEach(function (file) {
        var label = file.filename + (file.size ? " · " + formatSize(file.size) : "");
        var item;
        if (file.withheld) {
          /* held back by the secret guard: its bytes are gone, so no download */
          item = el("span", { class: "file file-withheld", "data-testid": "kefu-attachment-withheld" },
                    [icon("clip"), el("span", {}, label + " · " + t("fileWithheld"))]);
        } else if (file.id) {
          item = el("button", { type: "button", class: "file", "data-testid": "kefu-attachment",
                                "aria-label": t("download", { name: file.filename }) },
                    [icon("clip"), el("span", {}, label)]);
          item.addEventListener("click", function () { downloadAttachment(file); });
        } else {
          item = el("span", { class: "file", "data-testid": "kefu-attachment" },
                    [icon("clip"), el("span", {}, label)]);
        }
        list.appendChild(el("li", {}, [item]));
      });
      bubble.appendChild(list);
    }
    li.appendChild(bubble);
    if (author === "assistant" && message.rateable && !entry.own) {
      li.appendChild(feedbackRow(entry));
    }
    entry.meta = el("div", { class: "msg-meta" });
    li.appendChild(entry.meta);
    setEntryState(entry, state);
  }

  /* 👍/👎 under an answer of the assistant (the `feedback` frame); its other messages (a flow's
   * question, the hand-off) say `rateable: false`. The first vote stands: the buttons then
   * show it and stay disabled, after a reload too (remembered per message). */
  function feedbackRow(entry) {
    var up = el("button", { type: "button", class: "vote", "data-testid": "kefu-helpful",
                            "aria-label": t("helpful"), title: t("helpful"),
                            "aria-pressed": "false" }, "👍");
    var down = el("button", { type: "button", class: "vote", "data-testid": "kefu-not-helpful",
                              "aria-label": t("notHelpful"), title: t("notHelpful"),
                              "aria-pressed": "false" }, "👎");
    var thanks = el("span", { class: "msg-feedback-thanks", "data-testid": "kefu-feedback-thanks",
                              hidden: true }, t("feedbackThanks"));
    var row = el("div", { class: "msg-feedback", "data-testid": "kefu-feedback" },
                 [up, down, thanks]);
    entry.feedback = { row: row, up: up, down: down, thanks: thanks };
    entry.voted = false;
    up.addEventListener("click", function () { vote(entry, true); });
    down.addEventListener("click", function () { vote(entry, false); });
    var stored = chat.ticket && entry.seq ?
      storageGet("vote:" + chat.ticket.number + ":" + entry.seq) : null;
    if (stored !== null) {
      showVote(entry, stored === "1", true);
    }
    return row;
  }

  function vote(entry, helpful) {
    if (!chat.ticket || !entry.seq || entry.voted) {
      return;
    }
    if (sendFrame({ type: "feedback", ticket: chat.ticket.number, seq: entry.seq,
                    helpful: helpful })) {
      showVote(entry, helpful, false);
    }
  }

  function showVote(entry, helpful, recorded) {
    var parts = entry.feedback;
    entry.voted = true;
    parts.row.setAttribute("data-vote", helpful ? "helpful" : "not-helpful");
    parts.up.setAttribute("aria-pressed", String(helpful));
    parts.down.setAttribute("aria-pressed", String(!helpful));
    parts.up.disabled = true;
    parts.down.disabled = true;
    parts.thanks.hidden = !recorded;
  }

  /* feedback_recorded: the vote that stands (the earlier one, when this was a second vote). */
  function onFeedbackRecorded(frame) {
    if (!chat.ticket || frame.ticket !== chat.ticket.number) {
      return;
    }
    storageSet("vote:" + frame.ticket + ":" + frame.seq, frame.helpful ? "1" : "0");
    var entry = chat.bySeq[frame.seq];
    if (entry && entry.feedback) {
      showVote(entry, frame.helpful, true);
    }
  }

  /* The meta line: time, and for our own messages sending… / Sent / Read / Not sent + Retry. */
  function setEntryState(entry, state) {
    entry.state = state;
    var meta = entry.meta;
    meta.textContent = "";
    var time = formatTime(entry.createdAt);
    if (time && state !== "sending") {
      meta.appendChild(el("time", { datetime: entry.createdAt }, time));
    }
    if (entry.own && state) {
      entry.el.setAttribute("data-state", state);
      meta.appendChild(el("span", { class: "msg-state" }, t("state." + state)));
      if (state === "failed") {
        var retry = el("button", { type: "button", class: "link", "data-testid": "kefu-retry" },
                       t("retry"));
        retry.addEventListener("click", function () { retryMessage(entry); });
        meta.appendChild(retry);
      }
    } else {
      entry.el.removeAttribute("data-state");
    }
  }

  /* Keep the list in seq order; unacknowledged messages (no seq yet) stay at the end. */
  function placeEntry(entry) {
    var list = ui.messages;
    if (entry.seq) {
      var children = list.children;
      for (var i = 0; i < children.length; i++) {
        var child = children[i];
        if (child === entry.el) {
          continue;
        }
        var seq = parseInt(child.getAttribute("data-seq"), 10) || 0;
        if (!seq || seq > entry.seq) {
          if (child.previousSibling !== entry.el) {
            list.insertBefore(entry.el, child);
          }
          return;
        }
      }
    }
    if (list.lastElementChild !== entry.el) {
      list.appendChild(entry.el);
    }
  }

  function nearEnd() {
    var box = ui.scroller;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }

  function scrollToEnd(force) {
    if (force || nearEnd()) {
      ui.scroller.scrollTop = ui.scroller.scrollHeight;
    }
  }

  /* The reader at the end of the conversation stays there when the list gets shorter (a
     phone's keyboard opens, the message box grows, a notice shows) and when the rating form
     appears under it; ui.atEnd is where the last scroll left them (a box that shrinks does
     not scroll, so it is not asked again then). */
  function followEnd() {
    var box = ui.scroller;
    ui.atEnd = nearEnd();
    box.addEventListener("scroll", function () { ui.atEnd = nearEnd(); }, { passive: true });
    if (window.ResizeObserver) {
      var keep = new ResizeObserver(function () {
        if (ui.atEnd && ui.open) {
          box.scrollTop = box.scrollHeight;
        }
      });
      keep.observe(box);
      keep.observe(ui.rating);
    }
  }

  /* A message that arrived while the reader was at the end: to the end, or, when it is
     taller than the list, to its start (a long answer is read from the top). */
  function showEntry(entry) {
    var box = ui.scroller;
    var top = entry.el.offsetTop - box.offsetTop - 8;
    box.scrollTop = entry.el.offsetHeight > box.clientHeight ? top : box.scrollHeight;
  }

  function showTyping(name) {
    clearTimeout(timers.typing);
    if (!name) {
      ui.typing.hidden = true;
      return;
    }
    ui.typing.textContent = t("typing", { name: name });
    ui.typing.hidden = false;
    scrollToEnd(false);
    timers.typing = setTimeout(function () { ui.typing.hidden = true; }, TYPING_SHOW_MS);
  }

  function renderTicket() {
    var ticket = chat.ticket;
    ui.ticketBar.hidden = !ticket;
    ui.transcript.hidden = !ticket;
    if (!ticket) {
      ui.rating.hidden = true;
      showEnded("");
      showStatusNote("");
      renderQueue();
      return;
    }
    ui.ticketNumber.textContent = ticket.number;
    ui.ticketStatus.textContent = t("ticket." + customerStatus(ticket));
    ui.ticketStatus.setAttribute("data-status", ticket.status);
    showStatusNote(chat.statusNote);
    var ended = ticket.status === "resolved" || ticket.status === "closed";
    if (ended) {
      var wasShown = showEnded(ticket.status === "closed" ? t("closedNote") : t("resolvedNote"));
      renderRating();
      if (!wasShown) {
        scrollToEnd(true);
      }
    } else {
      showEnded("");
      ui.rating.hidden = true;
      ui.thanks.hidden = true;
    }
    renderQueue();
    updateComposer();
    // Focus moved off the closed composer to "start a new conversation" goes on to the
    // rating once its form appears (it waits for the rating lookup).
    if (ui.parkedFocus && ui.parkedFocus === activeInWidget() && !ui.rating.hidden) {
      focusRating();
    }
  }

  /* The resolved/closed note; "" hides it. The note is a polite live region that is always
     rendered (an element that appears already filled is not announced): its text changes,
     and so is announced, only when the note does, never again on a re-render. Whether the
     note was shown before. */
  function showEnded(text) {
    var wasShown = ui.ended.classList.contains("is-ended");
    if (ui.endedText.textContent !== text) {
      ui.endedText.textContent = text;
    }
    ui.ended.classList.toggle("is-ended", Boolean(text));
    ui.again.hidden = !text;
    return wasShown;
  }

  /* The status as the person is told it: "pending" waits for them only when support waits
     for their reply; waiting on support's side is, for them, still in progress. */
  function customerStatus(ticket) {
    return ticket.status === "pending" && ticket.pendingReason !== "customer" ? "open" :
      ticket.status;
  }

  /* The status line for a conversation going from `before` (null: not seen before) to `after`
     ({status, pending_reason}): only what the person can act on or would want to know, support
     waits for their reply or the conversation is open again; nothing of support's internal
     states (escalated, waiting on support's side). Resolved and closed have their own note. */
  function noteStatusChange(before, after) {
    var status = after.status || "new";
    if (status === "pending" && after.pending_reason === "customer") {
      chat.statusNote = t("waitingNote");
    } else if (before && (before.status === "resolved" || before.status === "closed") &&
               status !== "resolved" && status !== "closed") {
      chat.statusNote = t("reopenedNote");
    } else if (!before || before.status !== status ||
               before.pendingReason !== (after.pending_reason || null)) {
      chat.statusNote = "";
    }
  }

  /* The status line, a polite live region that is always rendered (as the ended note): its
     text changes, and so is announced, only when a status change gives it a new one. */
  function showStatusNote(text) {
    if (ui.statusNote.textContent !== text) {
      ui.statusNote.textContent = text;
    }
  }

  function renderQueue() {
    var queue = chat.queue;
    var waiting = queue && queue.position > 0 && !chat.agentAnswered && chat.ticket &&
      queue.ticket === chat.ticket.number && chat.ticket.status === "new";
    ui.queue.hidden = !waiting;
    if (waiting) {
      ui.queue.textContent = t("queue", { position: queue.position,
                                          minutes: Math.max(1, Math.round(queue.eta_s / 60)) });
    }
  }

  function renderIntro() {
    var empty = !ui.messages.children.length;
    ui.intro.hidden = !empty;
  }

  function renderUnread() {
    ui.badge.hidden = chat.unread <= 0;
    ui.badge.textContent = chat.unread > 9 ? "9+" : String(chat.unread);
    // The launcher says what pressing it does: open the panel, or close the open one.
    var name = ui.open ? t("close") : t("open");
    ui.launcher.setAttribute("aria-label", chat.unread > 0
      ? name + " (" + t("unread", { count: chat.unread }) + ")" : name);
  }

  /* The element that has focus inside the widget's shadow root, or null. */
  function activeInWidget() {
    return ui.shadow ? ui.shadow.activeElement : null;
  }

  /* Closed or expired: the composer is disabled. A disabled element loses focus to the page's
     <body>, so focus inside the composer first goes to what comes next: the rating form when
     it is shown, otherwise "start a new conversation" (or the panel's close button). While
     a file uploads, Attach is only aria-disabled (it keeps focus; clicks are ignored). */
  function updateComposer() {
    if (!ui.input) {
      return;
    }
    var blocked = conn.fatal === "expired" ||
      Boolean(chat.ticket && chat.ticket.status === "closed");
    var focused = activeInWidget();
    var focusInComposer = Boolean(focused && ui.composer.contains(focused));
    ui.input.disabled = blocked;
    ui.send.disabled = blocked;
    ui.attach.disabled = blocked;
    if (!blocked && chat.uploading) {
      ui.attach.setAttribute("aria-disabled", "true");
    } else {
      ui.attach.removeAttribute("aria-disabled");
    }
    if (blocked && focusInComposer) {
      if (!ui.rating.hidden) {
        focusRating();
      } else {
        ui.parkedFocus = ui.again.hidden ? ui.close : ui.again;
        ui.parkedFocus.focus();
      }
    }
  }

  /* Focus the rating's current star (the one in the tab order). */
  function focusRating() {
    ui.parkedFocus = null;
    ui.stars[Math.max(0, rating.score - 1)].focus();
  }

  /* A notice: errors stay 8 s unless sticky; `action` adds one button. `topic` ("upload",
     "download", "send") ties it to what it is about: a later success of the same kind takes
     it down (clearNoticeAbout), a stale "Attach at most 10 files" does not outstay the file
     that went through. */
  function showNotice(text, kind, sticky, action, topic) {
    clearTimeout(timers.notice);
    ui.notice.topic = topic || null;
    ui.notice.textContent = "";
    ui.notice.appendChild(el("span", {}, text));
    if (action) {
      var button = el("button", { type: "button", class: "link" }, action.label);
      button.addEventListener("click", action.run);
      ui.notice.appendChild(button);
    }
    ui.notice.className = "notice notice-" + (kind || "info");
    ui.notice.hidden = false;
    ui.notice.sticky = Boolean(sticky);
    if (!sticky) {
      timers.notice = setTimeout(function () { ui.notice.hidden = true; }, 8000);
    }
  }

  function clearNoticeAbout(topic) {
    if (ui.notice && !ui.notice.hidden && !ui.notice.sticky && ui.notice.topic === topic) {
      clearTimeout(timers.notice);
      ui.notice.hidden = true;
    }
  }

  function clearNotice(includingSticky) {
    if (ui.notice && (includingSticky || !ui.notice.sticky)) {
      ui.notice.hidden = true;
      ui.notice.sticky = false;
    }
  }

  /* ------------------------------------------------------------------ rating */

  var rating = { score: 0, sending: false };

  function resetRating() {
    rating.score = 0;
    ui.ratingComment.value = "";
    showRatingError("");
    setRatingSending(false);
    paintStars(0);
  }

  /* While the rating is sent, Send is only aria-disabled: a disabled button that has focus
     drops it to the page's <body>, and a keyboard user who pressed it would be lost when the
     send fails. A press meanwhile does nothing (submitRating). */
  function setRatingSending(sending) {
    rating.sending = sending;
    if (sending) {
      ui.ratingSubmit.setAttribute("aria-disabled", "true");
    } else {
      ui.ratingSubmit.removeAttribute("aria-disabled");
    }
  }

  /* The rating's error, "" for none. It is an alert that is always rendered (empty while
     there is nothing to say): its new text is announced, also the same error a second time. */
  function showRatingError(text) {
    ui.ratingError.textContent = "";
    if (text) {
      ui.ratingError.appendChild(document.createTextNode(text));
    }
  }

  /* Resolved or closed: ask for a rating, unless it is rated already (we look it up once). */
  function renderRating() {
    var number = chat.ticket.number;
    if (chat.rated) {
      ui.rating.hidden = true;
      ui.thanks.hidden = false;
      return;
    }
    ui.thanks.hidden = true;
    if (chat.ratingChecked === number) {
      ui.rating.hidden = false;
      return;
    }
    chat.ratingChecked = number;
    api("GET", "/api/v1/tickets/" + encodeURIComponent(number)).then(function (detail) {
      if (!chat.ticket || chat.ticket.number !== number) {
        return;
      }
      chat.rated = detail.rating !== null && detail.rating !== undefined;
      renderTicket();
    }, function () {
      if (chat.ticket && chat.ticket.number === number) {
        ui.rating.hidden = false; // could not look: offer it; the server refuses a second one
      }
    });
  }

  function paintStars(score) {
    ui.stars.forEach(function (star, index) {
      var value = index + 1;
      star.classList.toggle("on", value <= score);
      star.setAttribute("aria-checked", value === rating.score ? "true" : "false");
      star.tabIndex = value === (rating.score || 1) ? 0 : -1;
    });
  }

  function chooseStar(score, focus) {
    rating.score = score;
    paintStars(score);
    showRatingError("");
    if (focus) {
      ui.stars[score - 1].focus();
    }
  }

  /* Sends the rating. Refused or lost, the keyboard user stays where they were (on Send, to
     try again) and the alert says so in the widget's language. */
  function submitRating() {
    if (rating.sending) {
      return;
    }
    if (!rating.score) {
      showRatingError(t("ratingChoose"));
      ui.stars[0].focus();
      return;
    }
    var number = chat.ticket.number;
    var comment = ui.ratingComment.value.trim().slice(0, 2000);
    showRatingError("");
    setRatingSending(true);
    api("POST", "/api/v1/tickets/" + encodeURIComponent(number) + "/rating",
        { score: rating.score, comment: comment || null }).then(function () {
      setRatingSending(false);
      chat.rated = true;
      renderTicket();
      ui.thanks.focus();
    }, function (error) {
      setRatingSending(false);
      if (error.code === "already_rated") {
        chat.rated = true;
        renderTicket();
        ui.thanks.focus();  /* the form it was in is gone */
        return;
      }
      var known = "error." + error.code;
      showRatingError(STR[known] ? t(known) : t("ratingFailed"));
    });
  }

  /* ------------------------------------------------------------------ attachments */

  function fileType(file) {
    if (file.type) {
      return file.type;
    }
    var match = /\.[a-z0-9]+$/i.exec(file.name || "");
    return match ? FILE_EXTENSIONS[match[0].toLowerCase()] || "" : "";
  }

  /* The server's limit as people write it: "512 B", "300 KB", "25 MB", "1.5 MB". */
  function formatSize(bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    var kb = bytes / 1024;
    if (kb < 1024) {
      return Number(kb.toFixed(kb < 10 ? 1 : 0)) + " KB";
    }
    var mb = kb / 1024;
    return Number(mb.toFixed(mb < 10 ? 1 : 0)) + " MB";
  }

  /* The accepted types as people know them (their first extension): "PNG, JPG, PDF". */
  function typeNames() {
    var names = [];
    Object.keys(FILE_TYPES || {}).forEach(function (type) {
      var first = (FILE_TYPES[type] || [])[0];
      var name = first ? first.slice(1).toUpperCase() : type;
      if (names.indexOf(name) < 0) {
        names.push(name);
      }
    });
    return names.join(LANG === "zh-CN" ? "\u3001" : ", ");
  }

  /* The file picker's accept attribute: each allowed type and its extensions. */
  function acceptList() {
    var items = [];
    Object.keys(FILE_TYPES || {}).forEach(function (type) {
      items.push(type);
      (FILE_TYPES[type] || []).forEach(function (extension) { items.push(extension); });
    });
    return items.join(",");
  }

  function typeProblem(name) {
    return t("fileType", { name: name, types: typeNames() });
  }

  function sizeProblem(name) {
    return t("fileSize", { name: name, size: formatSize(MAX_FILE_BYTES) });
  }

  function checkFile(file) {
    var name = file.name || "file";
    if (FILE_TYPES && !Object.prototype.hasOwnProperty.call(FILE_TYPES, fileType(file))) {
      return typeProblem(name);
    }
    if (MAX_FILE_BYTES && file.size > MAX_FILE_BYTES) {
      return sizeProblem(name);
    }
    if (!file.size) {
      return t("fileEmpty", { name: name });
    }
    return null;
  }

  /* The files being uploaded now, or null: {xhr (the request in flight), caption (the text
   * sent with them unless it opened the conversation), cancelled, over}. */
  var upload = null;

  /* Check every file, make sure the conversation exists, upload one by one with a progress
   * bar (and Cancel), then send one message that references the uploaded ids. */
  function sendFiles(fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    ui.fileInput.value = "";
    if (!files.length || chat.uploading) {
      return;
    }
    if (MAX_FILES && files.length > MAX_FILES) {
      showNotice(t("tooManyFiles", { count: MAX_FILES }), "error", false, null, "upload");
      return;
    }
    for (var i = 0; i < files.length; i++) {
      var problem = checkFile(files[i]);
      if (problem) {
        showNotice(problem, "error", false, null, "upload");
        return;
      }
    }
    // These files pass: a refusal of the files chosen before is out of date.
    clearNoticeAbout("upload");
    var caption = ui.input.value.trim().slice(0, MAX_BODY_CHARS);
    ui.input.value = "";
    showLimit("");
    autosize();
    stopTyping();
    var captionSent = !chat.ticket && Boolean(caption); // it opens the conversation
    var batch = { xhr: null, caption: captionSent ? "" : caption, cancelled: false,
                  over: false };
    upload = batch;
    chat.uploading = true;
    updateComposer();
    // Shown at once: without a connection the conversation may take a while to open, and the
    // person can cancel meanwhile.
    showUpload(files[0].name, 0);
    var uploaded = [];
    var current = null; // the file being uploaded, for the notice if it is refused
    ensureTicket(captionSent ? caption : "").then(function (number) {
      return files.reduce(function (previous, file) {
        return previous.then(function () {
          if (batch.cancelled) {
            return;
          }
          current = file;
          showUpload(file.name, 0);
          return uploadFile(number, file, function (fraction) {
            showUpload(file.name, fraction);
          }, function (xhr) {
            batch.xhr = xhr;
            if (batch.cancelled) {
              xhr.abort(); // cancelled while the token was being renewed
            }
          }).then(function (attachment) {
            batch.xhr = null;
            uploaded.push(attachment);
          });
        });
      }, Promise.resolve());
    }).then(function () {
      if (batch.cancelled) {
        return; // nothing of a cancelled batch is sent
      }
      var body = !captionSent && caption ? caption : uploaded.map(function (a) {
        return a.filename;
      }).join("\n");
      queueMessage(body, uploaded.map(function (a) { return a.id; }), uploaded);
    }).catch(function (error) {
      if (batch.cancelled) {
        return;
      }
      showNotice(uploadProblem(error, current), "error", false, null, "upload");
      if (uploaded.length) {
        queueMessage(uploaded.map(function (a) { return a.filename; }).join("\n"),
                     uploaded.map(function (a) { return a.id; }), uploaded);
      }
      restoreCaption(batch);
    }).then(function () {
      endUpload(batch);
    });
  }

  /* Cancel: the request in flight is aborted, the files not sent yet are dropped, nothing of
   * the batch is sent (an uploaded file stays unsent, as if never chosen) and the caption
   * goes back to the message box. Focus, if it was on Cancel, goes to Attach. */
  function cancelUpload() {
    var batch = upload;
    if (!batch || batch.cancelled || batch.over) {
      return;
    }
    batch.cancelled = true;
    if (batch.xhr) {
      batch.xhr.abort();
    }
    restoreCaption(batch);
    var refocus = activeInWidget() === ui.uploadCancel;
    endUpload(batch);
    showNotice(t("uploadCancelled"), "info", false, null, "upload");
    if (refocus) {
      ui.attach.focus();
    }
  }

  function restoreCaption(batch) {
    if (batch.caption && !ui.input.value) {
      ui.input.value = batch.caption;
      autosize();
    }
  }

  function endUpload(batch) {
    if (batch.over) {
      return;
    }
    batch.over = true;
    if (upload === batch) {
      upload = null;
    }
    chat.uploading = false;
    ui.upload.hidden = true;
    updateComposer();
  }

  /* Why an upload failed, in the widget's language: the server's refusals by their code (its
   * messages are English), a network failure as such, anything else as a plain failure. */
  function uploadProblem(error, file) {
    var name = (file && file.name) || "file";
    var code = error && error.code;
    if (code === "attachment_type") {
      return typeProblem(name);
    }
    if (code === "attachment_too_large" || code === "http_413") {
      return sizeProblem(name);
    }
    if (error && error.network) {
      return t("uploadFailed", { message: t("networkError") });
    }
    return t("uploadFailedRetry");
  }

  function showUpload(name, fraction) {
    ui.upload.hidden = false;
    ui.uploadName.textContent = t("uploading", { name: name });
    ui.progress.value = Math.round(fraction * 100);
    ui.progress.textContent = Math.round(fraction * 100) + "%";
  }

  /* ------------------------------------------------------------------ panel */

  function panelVisible() {
    return ui.open && document.visibilityState !== "hidden";
  }

  function openPanel() {
    if (ui.open) {
      return;
    }
    ui.open = true;
    ui.panel.hidden = false;
    ui.root.classList.add("is-open");
    ui.launcher.setAttribute("aria-expanded", "true");
    updateModal();
    sessionSet("open", "1");
    chat.unread = 0;
    renderUnread();
    connect();
    refreshServiceStatus();
    scrollToEnd(true);
    scheduleRead();
    setTimeout(function () {
      (ui.input.disabled ? ui.close : ui.input).focus();
    }, 0);
  }

  function closePanel() {
    if (!ui.open) {
      return;
    }
    ui.open = false;
    ui.panel.hidden = true;
    ui.root.classList.remove("is-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    updateModal();
    sessionSet("open", "0");
    renderUnread();
    ui.launcher.focus();
  }

  /* Full screen (a phone, a short screen), the panel hides the page: it is a modal dialog then.
     aria-modal tells screen readers the page behind is out of reach; Tab from the last control
     goes to the first and Shift+Tab from the first to the last; focus that lands on the page
     anyway (a screen reader's command, a script) comes back to the panel. Floating beside
     the page on a desktop, it is not modal: Tab goes on to the launcher and the page. */
  function isModal() {
    return Boolean(ui.open && ui.fullScreen && ui.fullScreen.matches);
  }

  function updateModal() {
    if (isModal()) {
      ui.panel.setAttribute("aria-modal", "true");
    } else {
      ui.panel.removeAttribute("aria-modal");
    }
  }

  /* The panel's controls that Tab stops at, in order: enabled, in the tab order, shown. */
  function tabStops() {
    var nodes = ui.panel.querySelectorAll("a[href], button, input, textarea, select, [tabindex]");
    return Array.prototype.filter.call(nodes, function (node) {
      return !node.disabled && node.tabIndex >= 0 && node.getClientRects().length > 0;
    });
  }

  function keepTabInside(event) {
    if (event.key !== "Tab" || event.altKey || event.ctrlKey || event.metaKey || !isModal()) {
      return;
    }
    var stops = tabStops();
    if (!stops.length) {
      return;
    }
    var active = activeInWidget();
    var inside = Boolean(active && active !== ui.panel && ui.panel.contains(active));
    var edge = event.shiftKey ? stops[0] : stops[stops.length - 1];
    if (!inside || active === edge) {
      event.preventDefault();
      (event.shiftKey ? stops[stops.length - 1] : stops[0]).focus();
    }
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 140) + "px";
  }

  function copyTicketNumber() {
    var number = chat.ticket ? chat.ticket.number : "";
    var done = function () {
      ui.copy.textContent = t("copied");
      setTimeout(function () { ui.copy.textContent = t("copy"); }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(number).then(done, function () { selectText(ui.ticketNumber); });
    } else {
      selectText(ui.ticketNumber);
    }
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  /* ------------------------------------------------------------------ building the DOM */

  function build() {
    var host = el("div", { id: "kefu-widget", "data-kefu-version": VERSION });
    var shadow = host.attachShadow({ mode: "open" });
    ui.shadow = shadow;
    var root = el("div", { class: "kefu pos-" + config.position, lang: LANG, hidden: true });
    ui.root = root;

    // The stylesheet comes from the Kefu origin (CSP-friendly: no inline styles); show the
    // widget once it has loaded (or failed: unstyled beats invisible).
    var sheet = el("link", { rel: "stylesheet",
                             href: BASE + "/static/widget/widget.css?v=" + VERSION });
    sheet.addEventListener("load", function () { root.hidden = false; });
    sheet.addEventListener("error", function () { root.hidden = false; });
    shadow.appendChild(sheet);

    ui.badge = el("span", { class: "badge", "data-testid": "kefu-unread", hidden: true });
    ui.launcher = el("button", { type: "button", class: "launcher", "data-testid": "kefu-launcher",
                                 "aria-label": t("open"), "aria-expanded": "false",
                                 "aria-controls": "kefu-panel" },
                     [icon("chat"), ui.badge]);
    ui.launcher.addEventListener("click", function () {
      if (ui.open) {
        closePanel();
      } else {
        openPanel();
      }
    });

    // Header: title, connection status, close.
    ui.statusText = el("span", { class: "status-text" });
    ui.status = el("p", { class: "status", "data-testid": "kefu-status", "data-state": "offline",
                          role: "status", "aria-live": "polite" },
                   [el("span", { class: "dot", "aria-hidden": "true" }), ui.statusText]);
    ui.close = el("button", { type: "button", class: "icon-btn", "data-testid": "kefu-close",
                              "aria-label": t("close") }, [icon("close")]);
    ui.close.addEventListener("click", closePanel);
    var header = el("header", { class: "head" }, [
      el("div", { class: "head-main" }, [
        el("h2", { id: "kefu-title", class: "title" }, config.title), ui.status]),
      ui.close]);

    // Ticket number (copyable) and status.
    ui.ticketNumber = el("span", { class: "ticket-number", "data-testid": "kefu-ticket-number" });
    ui.copy = el("button", { type: "button", class: "link", "data-testid": "kefu-copy-ticket",
                             "aria-label": t("copyTicket") }, t("copy"));
    ui.copy.addEventListener("click", copyTicketNumber);
    ui.ticketStatus = el("span", { class: "ticket-status", "data-testid": "kefu-ticket-status" });
    ui.ticketBar = el("div", { class: "ticket-bar", hidden: true }, [
      el("span", { class: "ticket-label" }, t("ticket")), ui.ticketNumber, ui.copy,
      ui.ticketStatus]);

    ui.queue = el("div", { class: "queue", "data-testid": "kefu-queue", role: "status",
                           hidden: true });
    ui.notice = el("div", { class: "notice", "data-testid": "kefu-notice", role: "alert",
                            hidden: true });
    ui.serviceStatusText = el("span", {});
    ui.serviceStatus = el("div", { class: "notice notice-info", role: "status",
                                   "data-testid": "kefu-service-status", hidden: true }, [
      ui.serviceStatusText,
      el("a", { class: "link", href: BASE + "/help/" + LANG + "/status", target: "_blank",
                rel: "noopener" }, t("statusDetails"))]);

    // Intro: greeting and quick questions (until the conversation has messages).
    var quick = el("div", { class: "quick", role: "group", "aria-label": t("quickTitle") });
    config.quickQuestions.forEach(function (question) {
      var button = el("button", { type: "button", class: "chip",
                                  "data-testid": "kefu-quick-question" }, question);
      button.addEventListener("click", function () {
        if (!ui.input.disabled) {
          queueMessage(question);
        }
      });
      quick.appendChild(button);
    });
    ui.suggestList = el("ul", { class: "suggestion-list" });
    ui.suggest = el("div", { class: "suggestions", "data-testid": "kefu-suggestions",
                             "aria-live": "polite", hidden: true }, [
      el("p", { class: "quick-title" }, t("suggestTitle")), ui.suggestList]);
    ui.intro = el("div", { class: "intro" }, [
      el("p", { class: "greeting" }, t("greeting")),
      config.quickQuestions.length ? el("p", { class: "quick-title" }, t("quickTitle")) : null,
      quick, ui.suggest]);

    ui.messages = el("ol", { class: "messages", "data-testid": "kefu-messages", role: "log",
                             "aria-live": "polite", "aria-label": t("messages") });
    ui.typing = el("p", { class: "typing", "data-testid": "kefu-typing", "aria-live": "polite",
                          hidden: true });

    // Resolved/closed: a note, the rating, the thanks, and a way to start again.
    // The note is a polite live region, rendered (empty) also while there is nothing to say:
    // see showEnded.
    ui.endedText = el("p", { class: "ended-note", role: "status", "aria-live": "polite" });
    // What a status change means for the person ("waiting for your reply", "reopened"): a
    // polite live region, rendered (empty) also while there is nothing to say.
    ui.statusNote = el("p", { class: "status-note", "data-testid": "kefu-status-note",
                              role: "status", "aria-live": "polite" });
    ui.again = el("button", { type: "button", class: "link", hidden: true,
                              "data-testid": "kefu-new-conversation" }, t("newConversation"));
    ui.again.addEventListener("click", startNewConversation);
    ui.ended = el("div", { class: "ended" }, [ui.endedText, ui.again]);
    buildRating();

    ui.scroller = el("div", { class: "scroll" }, [ui.intro, ui.messages, ui.typing,
                                                   ui.statusNote, ui.ended, ui.rating,
                                                   ui.thanks]);
    followEnd();

    // Upload progress.
    ui.uploadName = el("span", { class: "upload-name", role: "status" });
    ui.uploadCancel = el("button", { type: "button", class: "link",
                                     "data-testid": "kefu-upload-cancel" }, t("uploadCancel"));
    ui.uploadCancel.addEventListener("click", cancelUpload);
    ui.progress = el("progress", { max: "100", value: "0", "data-testid": "kefu-progress" });
    ui.upload = el("div", { class: "upload", "data-testid": "kefu-upload", hidden: true }, [
      el("div", { class: "upload-line" }, [ui.uploadName, ui.uploadCancel]), ui.progress]);

    // Composer: attach, textarea, send.
    ui.fileInput = el("input", { type: "file", class: "file-input", multiple: true,
                                 tabindex: "-1", "aria-hidden": "true",
                                 accept: FILE_TYPES ? acceptList() : null,
                                 "data-testid": "kefu-file-input" });
    ui.fileInput.addEventListener("change", function () { sendFiles(ui.fileInput.files); });
    ui.attach = el("button", { type: "button", class: "icon-btn", "data-testid": "kefu-attach",
                               "aria-label": t("attach"), title: t("attach") }, [icon("clip")]);
    ui.attach.addEventListener("click", function () {
      if (!chat.uploading) {
        ui.fileInput.click();
      }
    });
    ui.input = el("textarea", { id: "kefu-input", class: "input", rows: "1", dir: "auto",
                                maxlength: String(MAX_BODY_CHARS), "data-testid": "kefu-input",
                                "aria-describedby": "kefu-limit-hint",
                                placeholder: t("placeholder"), "aria-label": t("inputLabel") });
    ui.input.addEventListener("beforeinput", onComposerBeforeInput);
    ui.input.addEventListener("input", onComposerInput);
    ui.input.addEventListener("keydown", function (event) {
      // Enter sends; Shift+Enter is a new line; never while an IME is composing (Chinese).
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing &&
          event.keyCode !== 229) {
        event.preventDefault();
        submitComposer();
      }
    });
    ui.input.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (files && files.length) {
        event.preventDefault();
        sendFiles(files); // a pasted screenshot
      } else if (event.clipboardData) {
        noteOverflow(event.clipboardData.getData("text/plain"), true);
      }
    });
    ui.send = el("button", { type: "submit", class: "send", "data-testid": "kefu-send",
                             "aria-label": t("send"), title: t("send") }, [icon("send")]);
    var composer = el("form", { class: "composer" }, [ui.attach, ui.fileInput, ui.input,
                                                      ui.send]);
    ui.limitHint = el("p", { id: "kefu-limit-hint", class: "limit-hint", role: "status",
                             "aria-live": "polite", "data-testid": "kefu-limit-hint" });
    ui.composer = composer;
    composer.addEventListener("submit", function (event) {
      event.preventDefault();
      submitComposer();
    });

    // Footer: transcript downloads and the safety line.
    var txt = el("button", { type: "button", class: "link", "data-testid": "kefu-transcript-txt",
                             "aria-label": t("transcriptTxtLabel") }, t("transcriptTxt"));
    txt.addEventListener("click", function () { downloadTranscript("txt"); });
    var html = el("button", { type: "button", class: "link",
                              "data-testid": "kefu-transcript-html",
                              "aria-label": t("transcriptHtmlLabel") }, t("transcriptHtml"));
    html.addEventListener("click", function () { downloadTranscript("html"); });
    ui.transcript = el("span", { class: "transcript", hidden: true },
                       [el("span", {}, t("transcript")), txt, html]);
    var footer = el("footer", { class: "foot" }, [
      ui.transcript, el("span", { class: "safety" }, t("safety"))]);

    ui.panel = el("section", { id: "kefu-panel", class: "panel", role: "dialog",
                               "aria-labelledby": "kefu-title", "data-testid": "kefu-panel",
                               hidden: true },
                  [header, ui.ticketBar, ui.queue, ui.notice, ui.serviceStatus, ui.scroller,
                   ui.upload, composer, ui.limitHint, footer]);
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.stopPropagation();
        closePanel();
      }
      keepTabInside(event);
    });
    ui.fullScreen = window.matchMedia ? window.matchMedia(FULL_SCREEN) : null;
    if (ui.fullScreen) {  // a phone turned, a window resized: modal or not from now on
      if (ui.fullScreen.addEventListener) {
        ui.fullScreen.addEventListener("change", updateModal);
      } else if (ui.fullScreen.addListener) {
        ui.fullScreen.addListener(updateModal);
      }
    }
    document.addEventListener("focusin", function (event) {
      if (isModal() && event.target !== host) {
        (ui.input.disabled ? ui.close : ui.input).focus();
      }
    });
    // Drop files on the panel to attach them.
    ui.panel.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types || [],
                                                               "Files") >= 0) {
        event.preventDefault();
      }
    });
    ui.panel.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        event.preventDefault();
        sendFiles(event.dataTransfer.files);
      }
    });

    root.appendChild(ui.panel);
    root.appendChild(ui.launcher);
    shadow.appendChild(root);
    document.body.appendChild(host);
    setStatus("offline");
    ui.statusText.textContent = "";
  }

  function buildRating() {
    var stars = el("div", { class: "stars", role: "radiogroup", "aria-label": t("ratingGroup") });
    ui.stars = [1, 2, 3, 4, 5].map(function (score) {
      var star = el("button", { type: "button", class: "star", role: "radio",
                                "aria-checked": "false", "data-score": String(score),
                                "data-testid": "kefu-rating-star",
                                "aria-label": t("ratingStar", { score: score }) }, [icon("star")]);
      star.addEventListener("click", function () { chooseStar(score, false); });
      star.addEventListener("mouseenter", function () { paintStars(score); });
      star.addEventListener("mouseleave", function () { paintStars(rating.score); });
      star.addEventListener("keydown", function (event) {
        var step = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[event.key];
        if (step) {
          event.preventDefault();
          chooseStar(Math.min(5, Math.max(1, (rating.score || score) + step)), true);
        }
      });
      stars.appendChild(star);
      return star;
    });
    ui.ratingComment = el("textarea", { class: "input", rows: "2", maxlength: "2000",
                                        dir: "auto",
                                        "data-testid": "kefu-rating-comment",
                                        "aria-label": t("ratingComment"),
                                        placeholder: t("ratingComment") });
    ui.ratingSubmit = el("button", { type: "submit", class: "btn",
                                     "data-testid": "kefu-rating-submit" }, t("ratingSubmit"));
    ui.ratingError = el("p", { class: "rating-error", "data-testid": "kefu-rating-error",
                               role: "alert" });
    ui.rating = el("form", { class: "rating", "data-testid": "kefu-rating",
                             "aria-labelledby": "kefu-rating-title", hidden: true }, [
      el("h3", { id: "kefu-rating-title" }, t("ratingTitle")), stars, ui.ratingComment,
      ui.ratingError, ui.ratingSubmit]);
    ui.rating.addEventListener("submit", function (event) {
      event.preventDefault();
      submitRating();
    });
    ui.thanks = el("p", { class: "thanks", "data-testid": "kefu-rating-thanks", tabindex: "-1",
                          hidden: true }, t("ratingThanks"));
    paintStars(0);
  }

  /* ------------------------------------------------------------------ public API and start */

  var publicApi = {
    version: VERSION,
    open: openPanel,
    close: closePanel,
    toggle: function () {
      if (ui.open) {
        closePanel();
      } else {
        openPanel();
      }
    },
    /* Open the panel with `text` in the composer (the person can edit it, then send). */
    ask: function (text) {
      openPanel();
      if (typeof text === "string" && text && !ui.input.disabled) {
        ui.input.value = text.slice(0, MAX_BODY_CHARS);
        showLimit(text.length > MAX_BODY_CHARS ? "cut" : "");
        autosize();
        ui.input.focus();
      }
    },
    /* A token provider (function returning a JWT or a Promise of one), or one JWT. */
    setToken: function (source) {
      if (typeof source === "function") {
        auth.provider = source;
      } else if (typeof source === "string" && source.trim()) {
        auth.token = source.trim();
      } else {
        return;
      }
      if (auth.mode === "visitor") {
        if (typeof source === "function") {
          auth.token = null;
        }
        restartAs("customer");
        return;
      }
      auth.failures = 0;
      if (conn.fatal === "expired") {
        conn.fatal = null;
        clearNotice(true);
        updateComposer();
        connect();
      } else if (typeof source === "string" && conn.ready) {
        sendFrame({ type: "auth", token: auth.token });
      }
    }
  };

  function start() {
    build();
    window.KefuWidget = publicApi;
    window.addEventListener("online", function () {
      if (conn.timer) {
        connect();
      }
    });
    window.addEventListener("offline", function () {
      // The browser knows the network is gone: say so now, not after the silence timeout.
      if (conn.ws) {
        dropConnection();
      }
      scheduleReconnect();
      setStatus("offline");
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        scheduleRead();
        if (ui.open && !conn.ws && conn.timer) {
          connect(); // back to the tab: do not wait out the backoff
        }
      }
    });
    // What this person had not sent, and was writing, before a reload: shown at once, also
    // while the connection cannot be made yet.
    restoreUnsent();
    // Reconnect at once only if this person has a conversation here (or the panel was open
    // on the previous page); otherwise wait until the panel is opened.
    if (sessionGet("open") === "1") {
      openPanel();
    } else if (storageGet("active")) {
      connect();
    }
    try {
      window.dispatchEvent(new CustomEvent("kefu:ready", { detail: publicApi }));
    } catch (error) { /* very old browsers */ }
  }

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start, { once: true });
  }
})();
