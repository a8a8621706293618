/* Kefu agent console, live: the inbox, the ticket view and the supervisor view over /ws/agent.
 *
 * The pages are complete without this file (forms post, links navigate). With it:
 * - the inbox updates itself from `inbox` frames and counts unread customer messages per
 *   ticket (the server's count from the agent's stored read point when a list loads, moved by
 *   live frames, kept in localStorage for the other tabs); the total is in the tab title of
 *   every console page, which starts from the server's counts of every ticket;
 * - the ticket view subscribes to its ticket, renders new messages in seq order without
 *   duplicates, resumes from the last seq after a reconnect, and sends replies and notes over
 *   the socket (Enter sends, Shift+Enter is a new line) with a client_msg_id, showing
 *   "sending…" until the ack, resending unacknowledged ones after a reconnect, and "Seen" under
 *   the last reply the customer has read;
 * - attachments upload through the REST API first, then go out by id;
 * - notes get @mention completion, the reply box a macro picker;
 * - other agents viewing or typing are shown (collision detection);
 * - the agent's own status and load sit in the console bar; mentions pop up as toasts;
 * - the supervisor view redraws from `supervisor` frames.
 * Everything received is written with textContent: no HTML from the network is ever parsed. */
(function () {
  "use strict";

  var dataElement = document.getElementById("console-data");
  if (!dataElement || !window.WebSocket) {
    return;
  }
  var C;
  try {
    C = JSON.parse(dataElement.textContent);
  } catch (e) {
    return;
  }
  var me = C.me;
  var labels = C.labels || {};
  var lang = document.documentElement.lang || "en";
  document.documentElement.classList.add("console-live");
  document.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });

  /* ------------------------------------------------------------ small tools */

  function t(key, values) {
    var text = Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : key;
    if (values) {
      Object.keys(values).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(values[name]));
      });
    }
    return text;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name === "text") {
        node.textContent = value;
      } else if (name === "className") {
        node.className = value;
      } else {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function q(selector, root) {
    return (root || document).querySelector(selector);
  }

  function qa(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function csrfToken() {
    var meta = q('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* JSON over fetch; rejects with {status, code, message} on an error answer. */
  function api(method, url, body) {
    var options = {method: method, credentials: "same-origin", headers: {Accept: "application/json"}};
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = csrfToken();
    }
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      if (response.status === 204) {
        return null;
      }
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = (data && data.error) || {};
          throw {status: response.status, code: error.code || "http_" + response.status,
                 message: error.message || response.statusText};
        }
        return data;
      });
    });
  }

  var timeFormat = null;
  try {
    timeFormat = new Intl.DateTimeFormat(lang, {year: "numeric", month: "2-digit", day: "2-digit",
                                                hour: "2-digit", minute: "2-digit"});
  } catch (e) {
    timeFormat = null;
  }

  function timeElement(iso) {
    var when = new Date(iso);
    if (!iso || isNaN(when.getTime())) {
      return document.createTextNode("—");
    }
    var utc = when.toISOString().slice(0, 16).replace("T", " ") + " UTC";
    return el("time", {datetime: iso, title: utc, text: timeFormat ? timeFormat.format(when) : utc});
  }

  /* 42s, 4m 05s, 26h 08m (42秒, 4分05秒, 26小时08分): the server's format_duration. */
  function duration(seconds) {
    var total = Math.max(0, Math.floor(seconds || 0));
    var hours = Math.floor(total / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var secs = total % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (hours) {
      return t("console.duration.hours", {h: hours, m: pad(minutes)});
    }
    if (minutes) {
      return t("console.duration.minutes", {m: minutes, s: pad(secs)});
    }
    return t("console.duration.seconds", {s: secs});
  }

  /* A language by its own name, as the server names it (agent.language_name): from the
     page's list; else the name the server sent (``fallback``: an inbox row's language_name),
     else the browser's (its names differ from the server's: "中文（台灣）" for "中文 (繁體,
     台灣)"), with a capital first letter; else the code. */
  function languageName(code, fallback) {
    if (!code) {
      return "—";
    }
    if (C.languages && Object.prototype.hasOwnProperty.call(C.languages, code)) {
      return C.languages[code];
    }
    var name = fallback;
    if (!name || name === code) {
      try {
        name = new Intl.DisplayNames([code], {type: "language"}).of(code);
      } catch (e) {
        name = "";
      }
    }
    return name && name !== code ? name.charAt(0).toUpperCase() + name.slice(1) : code;
  }

  /* A text's language for its lang attribute (WCAG 3.1.2): none when it is not known. */
  function langCode(code) {
    return code && code !== "und" ? code : null;
  }

  function setLang(node, code) {
    if (node && langCode(code)) {
      node.setAttribute("lang", code);
    } else if (node) {
      node.removeAttribute("lang");
    }
  }

  /* An input method is composing (keyCode 229: Safari says so only that way). */
  function composing(event) {
    return event.isComposing || event.keyCode === 229;
  }

  function newClientId() {
    var random = "";
    if (window.crypto && window.crypto.getRandomValues) {
      var bytes = new Uint8Array(8);
      window.crypto.getRandomValues(bytes);
      bytes.forEach(function (b) { random += (b < 16 ? "0" : "") + b.toString(16); });
    } else {
      random = Math.random().toString(16).slice(2);
    }
    return "web-" + Date.now().toString(36) + "-" + random;
  }

  /* Who wrote a message, as shown: the assistant and the system have no name of their own
     (the server sends the kind, "assistant", as the name), nor has a customer the exchange
     gave none; they get the UI's word for them. */
  function authorName(author) {
    var kind = author.kind || "agent";
    /* an unnamed customer is stored as "Customer" (tickets.schemas.UNNAMED_CUSTOMER) */
    if (kind === "assistant" || kind === "system" || !author.name ||
        author.name.toLowerCase() === kind) {
      return t("author." + kind);
    }
    return author.name;
  }

  function statusBadge(status, pendingReason) {
    var text = t("status." + status);
    if (status === "pending" && pendingReason) {
      text += " · " + t("pending." + pendingReason);
    }
    return el("span", {className: "badge status-" + status, text: text});
  }

  function priorityBadge(priority) {
    return el("span", {className: "badge priority-" + priority, text: t("priority." + priority)});
  }

  /* ------------------------------------------------------------ toasts */

  var toasts = q('[data-testid="toasts"]');

  function toast(text, options) {
    if (!toasts) {
      return;
    }
    options = options || {};
    var body = options.href ? el("a", {href: options.href, text: text}) : el("span", {text: text});
    var close = el("button", {type: "button", className: "toast-close", "aria-label": t("console.close"),
                              text: "×"});
    var node = el("div", {className: "toast" + (options.kind ? " toast-" + options.kind : ""),
                          "data-testid": "toast", role: "status"},
                  [body, options.detail ? el("p", {className: "toast-detail", text: options.detail}) : null,
                   close]);
    close.addEventListener("click", function () { node.remove(); });
    toasts.appendChild(node);
    setTimeout(function () { node.remove(); }, options.ttl || 8000);
  }

  /* ------------------------------------------------------------ the socket */

  var connectionState = q('[data-testid="connection-state"]');

  function showConnection(state) {
    if (!connectionState) {
      return;
    }
    connectionState.hidden = false;
    connectionState.setAttribute("data-state", state);
    connectionState.textContent = t({live: "console.connected", connecting: "console.connecting",
                                     offline: "console.offline", "signed-out": "console.signed_out"}[state]);
  }

  var Socket = {
    ws: null,
    ready: false,
    welcomed: false,  /* a session was up on this page once: what goes out waits for the next */
    stopped: false,
    attempt: 0,
    handlers: {},

    on: function (type, handler) {
      (this.handlers[type] = this.handlers[type] || []).push(handler);
    },

    /* ticket number → the inbox row as last received (whole or merged), least recent first.
       Capped like the server's memory of what it sent whole (ROWS_REMEMBERED in hub.py, which
       forgets everything at that size and then sends whole rows again): every partial row's
       base is among the last that many rows received. */
    rows: new Map(),
    rowsKept: 20000,

    inboxRow: function (row) {
      var known = this.rows.get(row.number);
      if (row.partial && !known) {
        return null;  /* the server sends a partial row only after the whole one */
      }
      /* the row kept is the state; customer_messages is news of this frame only */
      var kept = {};
      Object.keys(row.partial ? known : {}).forEach(function (key) { kept[key] = known[key]; });
      Object.keys(row).forEach(function (key) {
        if (key !== "partial" && key !== "customer_messages") {
          kept[key] = row[key];
        }
      });
      this.rows.delete(kept.number);
      this.rows.set(kept.number, kept);
      if (this.rows.size > this.rowsKept) {
        this.rows.delete(this.rows.keys().next().value);
      }
      if (!row.customer_messages) {
        return kept;
      }
      var news = {customer_messages: row.customer_messages};
      Object.keys(kept).forEach(function (key) { news[key] = kept[key]; });
      return news;
    },

    emit: function (type, frame) {
      (this.handlers[type] || []).forEach(function (handler) {
        try {
          handler(frame);
        } catch (e) {
          if (window.console) {
            window.console.error(e);
          }
        }
      });
    },

    connect: function () {
      var self = this;
      if (this.ws || this.stopped) {
        return;
      }
      clearTimeout(this.timer);
      this.timer = null;
      var scheme = location.protocol === "https:" ? "wss:" : "ws:";
      showConnection(this.attempt ? "offline" : "connecting");
      var ws = new WebSocket(scheme + "//" + location.host + "/ws/agent");
      this.ws = ws;
      this.heardAt = Date.now();
      ws.onopen = function () {
        /* language: the console's, for refusals worded by the server (outbound_blocked) */
        ws.send(JSON.stringify({type: "hello", v: 1, language: document.documentElement.lang || undefined}));
      };
      ws.onmessage = function (event) {
        self.heardAt = Date.now();
        var frame;
        try {
          frame = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (frame.type === "inbox" && frame.change === "removed") {
          /* moved where this agent cannot read it: only its number comes */
          self.rows.delete(frame.ticket.number);
          self.emit("inbox", frame);
          return;
        }
        if (frame.type === "inbox") {
          /* rows moved by new messages arrive gathered: one frame each for the handlers;
             a partial row (what a message changed) is merged into the row sent before */
          (frame.tickets || [frame.ticket]).forEach(function (row) {
            var ticket = self.inboxRow(row);
            if (ticket) {
              self.emit("inbox", {type: "inbox", change: frame.change, ticket: ticket});
            }
          });
          return;
        }
        if (frame.type === "welcome") {
          self.ready = true;
          self.welcomed = true;
          self.attempt = 0;
          showConnection("live");
        }
        self.emit(frame.type, frame);
      };
      ws.onclose = function (event) {
        var wasReady = self.ready;
        self.ready = false;
        self.ws = null;
        self.emit("close", {code: event.code});
        if (event.code === 4401 || event.code === 4403 || event.code === 4409) {
          self.stopped = true;
          showConnection("signed-out");
          return;
        }
        showConnection("offline");
        self.attempt = wasReady ? 1 : self.attempt + 1;
        var delay = Math.min(15000, 500 * Math.pow(2, self.attempt)) + Math.random() * 500;
        self.timer = setTimeout(function () { self.connect(); }, delay);
      };
    },

    /* The network is gone (the browser says so, or the server stopped answering pings): close
       without waiting for a closing handshake that cannot come, show it, and reconnect. */
    drop: function () {
      var ws = this.ws;
      if (!ws) {
        return;
      }
      var closed = ws.onclose;
      ws.onclose = ws.onmessage = null;
      try {
        ws.close();
      } catch (e) { /* already closing */ }
      closed({code: 1006});
    },

    /* A ping when nothing was heard for 25 s; nothing heard for 35 s: the connection is dead. */
    watch: function () {
      var quiet = Date.now() - this.heardAt;
      if (!this.ws) {
        return;
      }
      if (quiet > 35000) {
        this.drop();
      } else if (quiet > 25000 && Date.now() - (this.pingedAt || 0) > 25000) {
        this.pingedAt = Date.now();
        this.send({type: "ping", t: this.pingedAt});
      }
    },

    send: function (frame) {
      if (!this.ready || !this.ws) {
        return false;
      }
      this.ws.send(JSON.stringify(frame));
      return true;
    },

    /* Whether this page works over the socket: it had a session, which is up or coming back
       (not signed out). Then replies wait for the socket instead of leaving the page by a form
       post, which fails with the server out of reach and loses the reply; only a page that never
       got a session (websockets blocked on the way) falls back to the form. */
    live: function () {
      return this.welcomed && !this.stopped;
    }
  };

  /* What this page holds from frames may be behind: after its own socket came back (every
     welcome but the first: the page was just rendered), and when the server says its process
     lost the events of an outage of the broker between processes (`resync`). Parts of the page
     that keep state from frames fetch it again on "refetch". */
  var welcomes = 0;
  Socket.on("welcome", function () {
    welcomes += 1;
    if (welcomes > 1) {
      Socket.emit("refetch", {reason: "reconnect"});
    }
  });
  Socket.on("resync", function (frame) {
    Socket.emit("refetch", {reason: frame.reason || "server"});
  });

  setInterval(function () { Socket.watch(); }, 5000);
  window.addEventListener("offline", function () { Socket.drop(); });
  window.addEventListener("online", function () { Socket.connect(); });

  /* ------------------------------------------------------------ unread counts */

  var ACTIVE = ["new", "open", "pending", "escalated"];
  /* refusals of what the message says: retrying sends the same words into the same refusal */
  var REFUSED_AS_WRITTEN = ["outbound_blocked", "compliance_tipoff", "override_forbidden",
                            "invalid_frame", "too_long", "ticket_closed"];
  var baseTitle = document.title;

  var Unread = {
    key: "kefu.unread." + me.id,
    /* tickets this page has counts for from the server or live frames: the title's total is
       theirs, not every ticket this browser ever counted (those may be read elsewhere since) */
    fresh: {},
    /* when the server last counted every ticket this agent may read (the inbox's list, or
       the console data on the other pages): a ticket it did not list had nothing unread then
       (ms; null until counts are loaded) */
    countedAt: null,

    read: function () {
      try {
        return JSON.parse(localStorage.getItem(this.key)) || {};
      } catch (e) {
        return {};
      }
    },

    write: function (state) {
      try {
        localStorage.setItem(this.key, JSON.stringify(state));
      } catch (e) { /* private mode: counts last for this page only */ }
      this.render(state);
    },

    /* A ticket as seen in a row or a frame: count customer messages newer than what we knew. */
    observe: function (number, lastCustomerAt, status, options) {
      this.fresh[number] = true;
      var state = this.read();
      var entry = state[number];
      if (status && ACTIVE.indexOf(status) < 0) {
        if (entry) {
          delete state[number];
          this.write(state);
        }
        return;
      }
      if (!lastCustomerAt) {
        return;
      }
      var at = Date.parse(lastCustomerAt);
      if (options && typeof options.unread === "number") {
        /* counted by the server from this agent's stored read point: right on a new device */
        if (!entry || entry.n !== options.unread || entry.lcm !== lastCustomerAt) {
          state[number] = {n: options.unread, lcm: lastCustomerAt, seen: entry ? entry.seen : null};
          this.write(state);
        }
        return;
      }
      if (options && options.viewing) {
        state[number] = {n: 0, lcm: lastCustomerAt, seen: new Date().toISOString()};
        this.write(state);
        return;
      }
      /* a row moved by several of the customer's messages at once says how many */
      var added = (options && options.count) || 1;
      if (!entry && this.countedAt !== null && at <= this.countedAt) {
        return;  /* the server counted it: nothing unread then, and no message since */
      }
      if (!entry) {
        /* Never opened here: at least one customer message waits to be read. */
        state[number] = {n: added, lcm: lastCustomerAt, seen: null};
      } else if (!entry.lcm || at > Date.parse(entry.lcm)) {
        entry.n = (entry.n || 0) + added;
        entry.lcm = lastCustomerAt;
      } else {
        return;
      }
      this.write(state);
    },

    /* read by this agent on another device or tab: what the server says is left */
    count: function (number, n, lastCustomerAt) {
      this.fresh[number] = true;
      var state = this.read();
      var entry = state[number] || {};
      state[number] = {n: n, lcm: lastCustomerAt || entry.lcm || null,
                       seen: new Date().toISOString()};
      this.write(state);
    },

    /* The server's counts for every active ticket this agent may read that has unread
       messages, on the list's page or not ({number: [unread, last customer message]}): the
       whole truth at ``countedAt``, so a ticket left out has none unread. The title's total
       is their sum, moved on by live frames. */
    load: function (counts, countedAt) {
      var state = this.read();
      var fresh = this.fresh;
      Object.keys(state).forEach(function (number) {
        if (!Object.prototype.hasOwnProperty.call(counts, number)) {
          delete state[number];
        }
      });
      Object.keys(counts).forEach(function (number) {
        var count = counts[number] || [];
        var entry = state[number];
        state[number] = {n: count[0] || 0, lcm: count[1] || null, seen: entry ? entry.seen : null};
        fresh[number] = true;
      });
      var at = Date.parse(countedAt || "");
      this.countedAt = isNaN(at) ? null : at;
      this.write(state);
    },

    forget: function (number) {
      var state = this.read();
      if (state[number]) {
        delete state[number];
        this.write(state);
      }
    },

    seen: function (number, lastCustomerAt) {
      this.count(number, 0, lastCustomerAt);
    },

    render: function (state) {
      state = state || this.read();
      var total = 0;
      var fresh = this.fresh;
      Object.keys(state).forEach(function (number) {
        total += fresh[number] ? state[number].n || 0 : 0;
      });
      document.title = (total ? "(" + total + ") " : "") + baseTitle;
      qa('[data-testid^="unread-"]').forEach(function (badge) {
        var number = badge.getAttribute("data-testid").slice("unread-".length);
        var n = state[number] ? state[number].n || 0 : 0;
        badge.hidden = !n;
        badge.textContent = n ? String(n) : "";
        badge.setAttribute("aria-label", t("console.unread", {count: n}));
        var row = badge.closest("tr");
        if (row) {
          row.classList.toggle("row-unread", !!n);
        }
      });
    }
  };

  window.addEventListener("storage", function (event) {
    if (event.key === Unread.key) {
      Unread.render();
    }
  });

  /* ------------------------------------------------------------ own status, load */

  var statusSelect = q('[data-testid="status-switch"]');
  var statusDot = q("[data-status-dot]");

  function showOwnStatus(status) {
    me.status = status;
    if (statusSelect) {
      statusSelect.value = status;
    }
    if (statusDot) {
      statusDot.className = "status-dot status-dot-" + status;
    }
  }

  /* A status chosen while the socket is down is sent once it is back (posting the form then
     would leave the console for an error page while the server restarts). */
  var wantedStatus = null;
  /* Bumped whenever the agent's own choice goes to the server: a status fetched before it
     (the catch-up's console-state) must not undo it. */
  var statusChoices = 0;

  if (statusSelect) {
    statusSelect.addEventListener("change", function () {
      statusChoices += 1;
      wantedStatus = Socket.send({type: "status", status: statusSelect.value}) ? null : statusSelect.value;
      showOwnStatus(statusSelect.value);
    });
  }

  Socket.on("welcome", function () {
    if (wantedStatus) {
      var status = wantedStatus;
      wantedStatus = null;
      statusChoices += 1;
      Socket.send({type: "status", status: status});
    }
  });

  var active = {};
  (me.active || []).forEach(function (number) { active[number] = true; });
  var loadBox = q('[data-testid="agent-load"]');

  function renderLoad() {
    if (!loadBox) {
      return;
    }
    var load = Object.keys(active).length;
    q("[data-load-value]", loadBox).textContent = String(load);
    loadBox.classList.toggle("console-load-full", load >= me.capacity);
  }

  function trackLoad(ticket) {
    var mine = ticket.assignee_id === me.id && (C.load_statuses || []).indexOf(ticket.status) >= 0;
    if (mine) {
      active[ticket.number] = true;
    } else {
      delete active[ticket.number];
    }
    renderLoad();
  }

  Socket.on("agent_status", function (frame) {
    if (frame.agent && frame.agent.id === me.id && !wantedStatus) {
      showOwnStatus(frame.agent.status);
    }
  });

  /* ------------------------------------------------------------ notifications */

  var bell = q('[data-testid="notifications-button"]');
  var panel = q('[data-testid="notifications-list"]');

  function renderNotifications(items) {
    if (!bell || !panel) {
      return;
    }
    var list = q("ul", panel);
    list.textContent = "";
    var unread = 0;
    items.forEach(function (item) {
      var data = item.data || {};
      if (!item.read_at) {
        unread += 1;
      }
      var link = el("a", {href: "/agent/tickets/" + encodeURIComponent(data.ticket || ""),
                          text: notificationText(item.kind, data)});
      link.addEventListener("click", function () {
        if (!item.read_at) {
          api("POST", "/api/v1/notifications/" + item.id + "/read").catch(function () {});
        }
      });
      var markRead = null;
      if (!item.read_at) {
        markRead = el("button", {type: "button", className: "btn btn-link btn-small", text: t("console.mark_read")});
        markRead.addEventListener("click", function () {
          /* the list is drawn again: the focus goes on to the next notification, not to <body> */
          var position = qa("li", list).indexOf(markRead.parentNode);
          api("POST", "/api/v1/notifications/" + item.id + "/read").then(loadNotifications, function () {})
            .then(function () { focusAfterRead(position); });
        });
      }
      list.appendChild(el("li", {className: item.read_at ? "notification-read" : "notification-unread", "data-testid": "notification", "data-kind": item.kind || ""}, [
        link, el("p", {className: "excerpt", text: data.excerpt || data.subject || ""}),
        el("span", {className: "muted"}, [timeElement(item.created_at)]), markRead]));
    });
    q("[data-empty]", panel).hidden = items.length > 0;
    var count = q('[data-testid="notifications-count"]', bell);
    count.hidden = !unread;
    count.textContent = String(unread);
  }

  /* After "Mark as read": the link of the notification that followed the one read, else the
     panel's first focusable element, else the bell. */
  function focusAfterRead(position) {
    if (panel.hidden) {
      return;
    }
    var links = qa('[data-testid="notification"] a', panel);
    var target = links[position + 1] || q("a[href], button:not([disabled])", panel) || bell;
    target.focus();
  }

  /* What a notification says: a mention in a note, or a ticket given to you. */
  function notificationText(kind, data) {
    var values = {by: data.by || "", ticket: data.ticket || ""};
    return kind === "assigned" ? t("console.assigned_toast", values) : t("console.mention_toast", values);
  }

  function loadNotifications() {
    return api("GET", "/api/v1/notifications").then(function (data) {
      renderNotifications(data.items || []);
    }, function () {});
  }

  if (bell && panel) {
    bell.hidden = false;
    var setPanel = function (open) {
      panel.hidden = !open;
      bell.setAttribute("aria-expanded", String(open));
    };
    bell.addEventListener("click", function () { setPanel(panel.hidden); });
    /* Escape closes it from anywhere and gives the focus back to the bell; a click elsewhere
       closes it too, the focus left where that click put it (on the bell if nowhere). */
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !panel.hidden) {
        setPanel(false);
        bell.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (panel.hidden || bell.contains(event.target) || panel.contains(event.target) ||
          !document.contains(event.target)) {  /* a button the list just drew again */
        return;
      }
      var lost = !document.activeElement || document.activeElement === document.body ||
        panel.contains(document.activeElement);
      setPanel(false);
      if (lost) {
        bell.focus();
      }
    });
    loadNotifications();
  }

  if (bell && panel) {
    Socket.on("refetch", loadNotifications);  /* mentions and assignments of the outage */
  }

  Socket.on("seen", function (frame) {
    Unread.count(frame.ticket, frame.unread || 0);
  });

  Socket.on("mention", function (frame) {
    toast(notificationText("mention", frame),
          {href: "/agent/tickets/" + encodeURIComponent(frame.ticket), detail: frame.excerpt, kind: "mention"});
    loadNotifications();
  });

  Socket.on("assigned", function (frame) {
    toast(notificationText("assigned", frame),
          {href: "/agent/tickets/" + encodeURIComponent(frame.ticket), detail: frame.subject, kind: "assigned"});
    loadNotifications();
  });

  /* ------------------------------------------------------------ the inbox */

  function inboxSection() {
    return document.getElementById("tickets");
  }

  /* Back after an outage (of this socket, or of the server's broker): what changed meanwhile
     was never sent to this page, so the list is fetched again. */
  Socket.on("refetch", function () {
    if (inboxSection() && window.htmx) {
      window.htmx.ajax("GET", location.pathname + location.search,
                       {target: "#tickets", swap: "outerHTML"});
    }
  });

  function inboxFilters(section) {
    try {
      return JSON.parse(section.getAttribute("data-filters") || "{}");
    } catch (e) {
      return {};
    }
  }

  /* Whether a ticket belongs in the list as filtered; null when we cannot tell (tag, search). */
  function matchesFilters(ticket, filters) {
    if (filters.status && ticket.status !== filters.status) {
      return false;
    }
    if (filters.priority && ticket.priority !== filters.priority) {
      return false;
    }
    if (filters.channel && ticket.channel !== filters.channel) {
      return false;
    }
    var language = (ticket.language || "").toLowerCase();
    var wantedLanguage = (filters.language || "").toLowerCase();
    if (wantedLanguage && language !== wantedLanguage &&
        language.indexOf(wantedLanguage + "-") !== 0) {  /* "zh" is zh-CN and zh-TW too */
      return false;
    }
    if (filters.assignee === "me" && ticket.assignee_id !== me.id) {
      return false;
    }
    if (filters.assignee === "none" && ticket.assignee_id) {
      return false;
    }
    if (filters.tag || filters.q) {
      return null;
    }
    return true;
  }

  function setCell(row, name, content) {
    var cell = q('[data-cell="' + name + '"]', row);
    if (cell) {
      cell.textContent = "";
      cell.appendChild(typeof content === "string" ? document.createTextNode(content) : content);
    }
  }

  function fillRow(row, ticket) {
    row.className = "priority-row-" + ticket.priority;
    row.setAttribute("data-status", ticket.status);
    row.setAttribute("data-priority", ticket.priority);
    row.setAttribute("data-channel", ticket.channel);
    row.setAttribute("data-language", ticket.language);
    row.setAttribute("data-team", ticket.team_id || "");
    row.setAttribute("data-assignee", ticket.assignee_id || "");
    row.setAttribute("data-updated", ticket.updated_at || "");
    row.setAttribute("data-last-customer-at", ticket.last_customer_message_at || "");
    setCell(row, "status", statusBadge(ticket.status, ticket.pending_reason));
    setCell(row, "priority", priorityBadge(ticket.priority));
    setCell(row, "channel", t("channel." + ticket.channel));
    setCell(row, "language", languageName(ticket.language, ticket.language_name));
    setLang(q('[data-cell="language"]', row), ticket.language);  /* named by its autonym */
    setLang(q('[data-cell="subject"] a', row), ticket.language);
    var meta = q(".row-meta", row);  /* the channel and language on a tablet (console.css) */
    if (meta) {
      q('[data-meta="channel"]', meta).textContent = t("channel." + ticket.channel);
      q('[data-meta="language"]', meta).textContent = languageName(ticket.language, ticket.language_name);
      setLang(q('[data-meta="language"]', meta), ticket.language);
    }
    setCell(row, "team", (ticket.team_id && C.teams[ticket.team_id]) || "—");
    setCell(row, "assignee", (ticket.assignee_id && C.agents[ticket.assignee_id]) || "—");
    setCell(row, "updated", timeElement(ticket.updated_at));
    if (Array.isArray(ticket.tags)) {  /* absent when only a message moved the row */
      var subjectCell = q('[data-cell="subject"]', row);
      qa(".tag", subjectCell).forEach(function (tag) { tag.remove(); });
      ticket.tags.forEach(function (tag) {  /* before the line under the subject */
        subjectCell.insertBefore(document.createTextNode(" "), meta);
        subjectCell.insertBefore(el("span", {className: "tag", text: tag}), meta);
      });
    }
  }

  function buildRow(ticket, headers) {
    var href = "/agent/tickets/" + encodeURIComponent(ticket.number);
    var cells = ["number", "subject", "status", "priority", "channel", "language", "team", "assignee", "updated"];
    var row = el("tr", {"data-testid": "inbox-row-" + ticket.number, "data-ticket": ticket.number});
    cells.forEach(function (name, index) {
      row.appendChild(el("td", {"data-cell": name, "data-label": headers[index] || "",
                                className: name === "number" ? "mono" : null}));
    });
    var number = q('[data-cell="number"]', row);
    number.appendChild(el("a", {href: href, text: ticket.number}));
    number.appendChild(document.createTextNode(" "));
    number.appendChild(el("span", {className: "unread", "data-testid": "unread-" + ticket.number, hidden: true}));
    q('[data-cell="subject"]', row).appendChild(el("a", {href: href, text: ticket.subject}));
    q('[data-cell="subject"]', row).appendChild(el("span", {className: "row-meta"}, [
      el("span", {"data-meta": "channel"}), " · ", el("span", {"data-meta": "language"})]));
    fillRow(row, ticket);
    return row;
  }

  /* While a new list is on its way (a filter changed), frames wait for it: applied to the old
     list they would be lost with it, and the new one was rendered before they happened. */
  var listComing = null;  /* frames that arrived meanwhile, or null */

  function onInboxFrame(frame) {
    var section = inboxSection();
    if (!section) {
      return;
    }
    if (listComing) {
      listComing.push(frame);
      return;
    }
    var ticket = frame.ticket;
    var filters = inboxFilters(section);
    var paged = section.getAttribute("data-paged") === "true";
    var body = q("tbody", section);
    var row = q('[data-testid="inbox-row-' + ticket.number + '"]', section);
    if (frame.change === "removed") {
      if (row) {
        row.remove();
        showEmpty(section);
      }
      Unread.forget(ticket.number);
      return;
    }
    var fits = matchesFilters(ticket, filters);
    if (row) {
      if (fits === false) {
        row.remove();
        showEmpty(section);
        return;
      }
      var subject = q('[data-cell="subject"] a', row);
      if (subject && subject.textContent !== ticket.subject) {
        subject.textContent = ticket.subject;
      }
      fillRow(row, ticket);
      if (!paged && body.firstElementChild !== row) {
        /* moving a row takes the keyboard focus out of it: give it back */
        var focused = row.contains(document.activeElement) ? document.activeElement : null;
        body.insertBefore(row, body.firstElementChild);
        if (focused) {
          focused.focus({preventScroll: true});
        }
      }
      flash(row);
    } else if (fits === true && !paged && body) {
      var headers = qa("thead th", section).map(function (th) { return th.textContent.trim(); });
      row = buildRow(ticket, headers);
      body.insertBefore(row, body.firstElementChild);
      flash(row);
      showEmpty(section);
      announce(t("console.new_ticket_announce", {number: ticket.number, subject: ticket.subject}));
    }
    Unread.render();
  }

  function flash(row) {
    row.classList.remove("row-flash");
    void row.offsetWidth;  /* restart the animation */
    row.classList.add("row-flash");
  }

  function showEmpty(section) {
    var rows = qa("tbody tr", section).length;
    var wrap = q(".table-wrap", section);
    var empty = q("[data-empty-state]", section);
    if (wrap) {
      wrap.hidden = rows === 0;
    }
    if (empty) {
      empty.hidden = rows > 0;
    }
  }

  /* ``restored``: a list htmx put back from its history, with the counts it had then */
  function observeRows(restored) {
    var section = inboxSection();
    if (!section) {
      return;
    }
    var all = section.getAttribute("data-unread-all");
    if (all && !restored) {
      try {
        Unread.load(JSON.parse(all), section.getAttribute("data-unread-counted-at"));
      } catch (e) { /* counted per row below */ }
    }
    qa("tr[data-ticket]", section).forEach(function (row) {
      var counted = row.getAttribute("data-unread");
      Unread.observe(row.getAttribute("data-ticket"), row.getAttribute("data-last-customer-at"),
                     row.getAttribute("data-status"),
                     counted === null ? null : {unread: parseInt(counted, 10) || 0});
    });
    Unread.render();
  }

  function listRequest(event) {
    var target = event.detail && event.detail.target;
    return !!(target && (target.id === "tickets" || q("#tickets", target)));
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (listRequest(event)) {
      listComing = listComing || [];
    }
  });

  function releaseFrames() {
    var frames = listComing || [];
    listComing = null;
    frames.forEach(function (frame) {
      countFrame(frame);
      onInboxFrame(frame);
    });
  }

  function countFrame(frame) {
    var ticket = frame.ticket;
    if (frame.change === "removed") {
      return;  /* onInboxFrame forgets it */
    }
    var viewing = Ticket && Ticket.state.number === ticket.number &&
      document.visibilityState === "visible";
    Unread.observe(ticket.number, ticket.last_customer_message_at, ticket.status,
                   {viewing: viewing, count: ticket.customer_messages});
  }

  function announce(text) {
    var region = document.getElementById("inbox-announce");
    if (region) {
      region.textContent = text;
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && (event.target.id === "tickets" || q("#tickets", event.target))) {
      observeRows();
      releaseFrames();
      announce(t("console.list_count", {count: qa("#tickets tbody tr").length}));
    }
  });
  /* Back and Forward between filters: htmx puts an earlier list back from its history */
  document.addEventListener("htmx:historyRestore", function () {
    observeRows(true);
  });
  /* no new list after all (an error, a cancelled request): what waited goes to the old one */
  ["htmx:responseError", "htmx:sendError", "htmx:timeout", "htmx:afterRequest"].forEach(
    function (name) {
      document.addEventListener(name, function (event) {
        if (listRequest(event) && listComing &&
            (name !== "htmx:afterRequest" || !(event.detail && event.detail.successful))) {
          releaseFrames();
        }
      });
    });

  /* ------------------------------------------------------------ one ticket */

  var live = q("[data-ticket-live]");
  var Ticket = null;

  function setupTicket() {
    var number = live.getAttribute("data-ticket");
    var list = q('[data-testid="message-list"]', live);
    var state = {
      number: number,
      lastSeq: parseInt(live.getAttribute("data-last-seq"), 10) || 0,
      known: {},
      pending: {},  /* client_msg_id → {frame, node, failed} */
      viewers: {},  /* agent id → {name, viewing, typing, internal, viewTimer, typeTimer} */
      lastCustomerAt: (C.ticket && C.ticket.last_customer_at) || null
    };
    qa('[data-testid="message"]', list).forEach(function (node) {
      state.known[node.getAttribute("data-message-id")] = true;
    });

    /* Sends not yet acknowledged survive a reload (this agent, this ticket): shown as pending
       and sent again, same client_msg_id, once the socket is welcomed (stored at most once). */
    var pendingKey = "kefu.pending." + me.id + "." + number;
    function savePending() {
      try {
        var kept = Object.keys(state.pending).map(function (id) { return state.pending[id]; })
          .filter(function (p) { return !p.failed; })
          .map(function (p) { return {frame: p.frame, attachments: p.attachments || []}; });
        if (kept.length) {
          window.localStorage.setItem(pendingKey, JSON.stringify(kept));
        } else {
          window.localStorage.removeItem(pendingKey);
        }
      } catch (e) { /* storage blocked */ }
    }

    function visible() {
      return document.visibilityState === "visible";
    }

    function markSeen() {
      if (visible()) {
        Unread.seen(number, state.lastCustomerAt);
        if (state.lastSeq) {
          Socket.send({type: "read", ticket: number, seq: state.lastSeq});
        }
      }
    }

    document.addEventListener("visibilitychange", markSeen);

    function nearBottom() {
      return window.innerHeight + window.scrollY >= document.body.scrollHeight - 200;
    }

    /* as the page does: the language detected in the message, else (not for a note) the
       ticket's */
    function messageLang(frame) {
      var ticketLang = frame.internal ? null : (C.ticket && C.ticket.language);
      return langCode(frame.language) || langCode(ticketLang);
    }

    function messageNode(frame, options) {
      var author = frame.author || {kind: "agent", name: me.name};
      var name = authorName(author);
      var head = el("div", {className: "msg-head"}, [
        el("span", {className: "avatar", "aria-hidden": "true", text: (name || "?").slice(0, 1).toUpperCase()}),
        el("span", {className: "msg-author", text: name}),
        name !== t("author." + author.kind) ? el("span", {className: "msg-role", text: t("author." + author.kind)}) : null,
        frame.internal ? el("span", {className: "badge badge-note", text: t("ticket.internal_note")}) : null,
        /* empty until confirmed: confirmPending puts the time in */
        el("span", {className: "msg-time"}, [frame.created_at ? timeElement(frame.created_at) : null])
      ]);
      var node = el("li", {className: "msg msg-" + author.kind + (frame.internal ? " msg-internal" : ""),
                           "data-testid": "message", "data-message-id": frame.id || null,
                           "data-seq": frame.seq || null, id: frame.seq ? "m" + frame.seq : null},
                    [head, el("div", {className: "msg-body", text: frame.body, lang: messageLang(frame)})]);
      var files = frame.attachments || [];
      if (files.length) {
        node.appendChild(el("ul", {className: "attachments"}, files.map(function (file) {
          if (file.withheld) {  // the secret guard deleted its bytes: nothing to download
            return el("li", {className: "attachment-withheld", "data-testid": "attachment-withheld",
                             text: file.filename + " · " + t("console.attachment_withheld")});
          }
          return el("li", {}, [el("a", {href: "/api/v1/attachments/" + file.id, download: true, text: file.filename})]);
        })));
      }
      if (options && options.pending) {
        node.classList.add("msg-pending");
        node.appendChild(el("p", {className: "msg-status", "data-testid": "message-status", text: t("console.sending")}));
      }
      return node;
    }

    function insertInOrder(node, seq) {
      var after = null;
      if (seq) {
        after = qa("li[data-seq]", list).filter(function (other) {
          var otherSeq = parseInt(other.getAttribute("data-seq"), 10);
          return otherSeq > seq && !other.classList.contains("msg-pending");
        })[0] || null;
      }
      if (after) {
        list.insertBefore(node, after);
      } else {
        var firstPending = q("li.msg-pending", list);
        list.insertBefore(node, seq ? firstPending : null);
      }
    }

    function pendingStatus(pending, text) {
      var status = q('[data-testid="message-status"]', pending.node);
      if (status) {
        status.textContent = text;
      }
    }

    function confirmPending(pending, id, seq, createdAt) {
      var node = pending.node;
      node.classList.remove("msg-pending", "msg-failed");
      node.setAttribute("data-message-id", id);
      if (seq) {
        node.setAttribute("data-seq", seq);
        node.id = "m" + seq;
      }
      var status = q('[data-testid="message-status"]', node);
      if (status) {
        status.remove();
      }
      var when = q(".msg-time", node);
      if (when && createdAt && !q("time", when)) {
        when.textContent = "";
        when.appendChild(timeElement(createdAt));
      }
      state.known[id] = true;
    }

    Socket.on("welcome", function () {
      Socket.send({type: "subscribe", ticket: number, since: state.lastSeq});
      markSeen();  /* what the page showed before the socket was up, and after an outage */
      Object.keys(state.pending).forEach(function (id) {
        var pending = state.pending[id];
        if (!pending.failed) {
          Socket.send(pending.frame);  /* same client_msg_id: stored at most once */
          pendingStatus(pending, t("console.sending"));
        }
      });
    });

    Socket.on("message", function (frame) {
      if (frame.ticket !== number) {
        return;
      }
      if (frame.seq > state.lastSeq) {
        state.lastSeq = frame.seq;
        live.setAttribute("data-last-seq", String(frame.seq));
      }
      if (frame.author && frame.author.kind === "customer") {
        state.lastCustomerAt = frame.created_at;
        typingLine(null);
      }
      if (state.known[frame.id]) {
        return;
      }
      var pending = frame.client_msg_id ? state.pending[frame.client_msg_id] : null;
      if (pending) {
        confirmPending(pending, frame.id, frame.seq, frame.created_at);
        delete state.pending[frame.client_msg_id];
        savePending();
        return;
      }
      var stick = nearBottom();
      state.known[frame.id] = true;
      insertInOrder(messageNode(frame), frame.seq);
      if (stick) {
        list.lastElementChild.scrollIntoView({block: "end"});
      }
      markSeen();
    });

    Socket.on("ack", function (frame) {
      var pending = state.pending[frame.client_msg_id];
      if (pending) {
        delete state.pending[frame.client_msg_id];
        savePending();
        if (state.known[frame.id]) {
          /* the page came with it: stored before a reload lost its ack, then sent again (a
             message frame, a note's too, carries the client id and confirms it itself) */
          pending.node.remove();
        } else {
          confirmPending(pending, frame.id, frame.seq, frame.created_at);
        }
      }
      warnNotNotified(frame);  /* the message frame may have confirmed it already */
    });

    /* A note that @mentions colleagues who may not read the ticket: saved, but they were not
       told (a notification carries its text). Said under the note, so its author knows. */
    function warnNotNotified(ack) {
      var names = (ack.not_notified || []).map(function (agent) { return agent.name; });
      var node = q('[data-message-id="' + ack.id + '"]', list);
      if (!names.length || !node || q('[data-testid="mention-warning"]', node)) {
        return;
      }
      node.appendChild(el("p", {className: "alert alert-warn msg-warning", role: "status",
                                "data-testid": "mention-warning",
                                text: t("console.mention_not_notified",
                                        {names: names.join(t("console.name_separator"))})}));
    }

    Socket.on("error", function (frame) {
      var pending = frame.ref ? state.pending[frame.ref] : null;
      if (!pending) {
        return;
      }
      pending.failed = true;
      savePending();
      pending.node.classList.add("msg-failed");
      var status = q('[data-testid="message-status"]', pending.node);
      var known = Object.prototype.hasOwnProperty.call(labels, "error." + frame.code);
      status.textContent = t("console.failed", {reason: known ? t("error." + frame.code)
                                                : frame.message || frame.code});
      var button;
      if (REFUSED_AS_WRITTEN.indexOf(frame.code) >= 0) {
        /* sending it again is refused again: give the words back to change them */
        button = el("button", {type: "button", className: "btn btn-link btn-small",
                               "data-testid": "edit-refused", text: t("console.edit_refused")});
        button.addEventListener("click", function () {
          var box = q('[data-testid="reply-box"]');
          if (box) {
            box.value = pending.frame.body + (box.value ? "\n" + box.value : "");
            box.dispatchEvent(new Event("input"));
            box.focus();
          }
          delete state.pending[frame.ref];
          pending.node.remove();
        });
      } else {
        button = el("button", {type: "button", className: "btn btn-link btn-small", text: t("console.retry")});
        button.addEventListener("click", function () {
          pending.failed = false;
          pending.node.classList.remove("msg-failed");
          status.textContent = t("console.sending");
          Socket.send(pending.frame);
        });
      }
      status.appendChild(document.createTextNode(" "));
      status.appendChild(button);
    });

    /* ---- who else is here */
    var collision = q('[data-testid="collision"]');
    var customerTyping = q('[data-testid="customer-typing"]');
    var customerTimer = null;

    function renderCollision() {
      var viewing = [];
      var typing = [];
      Object.keys(state.viewers).forEach(function (id) {
        var viewer = state.viewers[id];
        if (viewer.typing) {
          typing.push(t(viewer.internal ? "console.typing_note" : "console.typing", {name: viewer.name}));
        } else {
          viewing.push(viewer.name);
        }
      });
      var parts = typing.slice();
      if (viewing.length === 1) {
        parts.push(t("console.viewing_one", {name: viewing[0]}));
      } else if (viewing.length > 1) {
        parts.push(t("console.viewing_many", {names: viewing.join(", ")}));
      }
      collision.textContent = parts.join(" · ");
      collision.hidden = parts.length === 0;
      collision.classList.toggle("collision-typing", typing.length > 0);
    }

    function typingLine(name) {
      if (!customerTyping) {
        return;
      }
      clearTimeout(customerTimer);
      customerTyping.hidden = !name;
      customerTyping.textContent = name ? t("console.typing", {name: name}) : "";
      if (name) {
        customerTimer = setTimeout(function () { typingLine(null); }, 6000);
      }
    }

    /* A colleague is shown while their announcements hold: a `viewing` frame for its `ttl_s`
       (their connection announces again well before: a process killed, or cut off from Redis,
       never says `state: false`), typing for 6 s. A `viewing` frame without `ttl_s` (a server
       of an older version) holds until `state: false`. */
    function viewer(id, name) {
      return state.viewers[id] = state.viewers[id] || {name: name};
    }

    function dropIfGone(id, held) {
      if (state.viewers[id] === held && !held.viewing && !held.typing) {
        delete state.viewers[id];
      }
      renderCollision();
    }

    Socket.on("viewing", function (frame) {
      if (frame.ticket !== number || !frame.agent || frame.agent.id === me.id) {
        return;
      }
      var id = frame.agent.id;
      var held = state.viewers[id];
      if (held) {
        clearTimeout(held.viewTimer);
      }
      if (!frame.state) {
        if (held) {
          clearTimeout(held.typeTimer);
        }
        delete state.viewers[id];
        renderCollision();
        return;
      }
      held = viewer(id, frame.agent.name);
      held.viewing = true;
      if (typeof frame.ttl_s === "number" && frame.ttl_s > 0) {
        held.viewTimer = setTimeout(function () {
          held.viewing = false;
          dropIfGone(id, held);
        }, frame.ttl_s * 1000);
      }
      renderCollision();
    });

    Socket.on("typing", function (frame) {
      if (frame.ticket !== number || !frame.who) {
        return;
      }
      if (frame.who.kind !== "agent") {
        typingLine(frame.state ? frame.who.name : null);
        return;
      }
      if (frame.who.agent_id === me.id) {
        return;
      }
      var id = frame.who.agent_id;
      var held = viewer(id, frame.who.name);
      clearTimeout(held.typeTimer);
      held.typing = !!frame.state;
      held.internal = !!frame.internal;
      if (held.typing) {
        held.typeTimer = setTimeout(function () {
          held.typing = false;
          dropIfGone(id, held);
        }, 6000);
      }
      dropIfGone(id, held);
    });

    Socket.on("close", function () {
      Object.keys(state.viewers).forEach(function (id) {
        clearTimeout(state.viewers[id].viewTimer);
        clearTimeout(state.viewers[id].typeTimer);
      });
      state.viewers = {};
      renderCollision();
    });

    /* "Seen by the customer" under the last reply they have read: their stored read point, in
       our numbering (the page's, then `subscribed`'s, then their `read` frames). */
    state.customerReadSeq = (C.ticket && C.ticket.customer_read_seq) || 0;
    function renderSeen() {
      var old = q('[data-testid="seen-by-customer"]', list);
      var target = null;
      qa("li.msg-agent[data-seq], li.msg-assistant[data-seq]", list).forEach(function (node) {
        var seq = parseInt(node.getAttribute("data-seq"), 10);
        if (seq && seq <= state.customerReadSeq && !node.classList.contains("msg-internal")) {
          target = node;
        }
      });
      if (old && old.parentNode === target) {
        return;
      }
      if (old) {
        old.remove();
      }
      if (target) {
        target.appendChild(el("p", {className: "msg-status msg-seen", "data-testid": "seen-by-customer",
                                    text: t("console.seen")}));
      }
    }
    function customerRead(seq) {
      if (seq > state.customerReadSeq) {
        state.customerReadSeq = seq;
        renderSeen();
      }
    }
    Socket.on("subscribed", function (frame) {
      if (frame.ticket && frame.ticket.number === number) {
        customerRead(frame.customer_read_seq || 0);
      }
    });
    Socket.on("read", function (frame) {
      if (frame.ticket === number && frame.by && frame.by.kind === "customer") {
        customerRead(frame.seq);
      }
    });
    renderSeen();

    /* ---- the ticket's own state */
    var changed = q('[data-testid="ticket-changed"]');
    /* What someone else changed, compared with what this page knew: "assigned to you",
       "status: Resolved", …; else what the server says changed (tags, rating, …). */
    function changeText(before, frame) {
      var after = frame.state;
      var parts = [];
      if (after.assignee_id !== before.assignee_id) {
        parts.push(t(after.assignee_id === me.id ? "console.change.assigned_to_you" :
                     after.assignee_id ? "console.change.assigned" : "console.change.unassigned"));
      }
      if (after.team_id !== before.team_id) {
        parts.push(t("console.change.team"));
      }
      if (after.status !== before.status || after.pending_reason !== before.pending_reason) {
        parts.push(t("console.change.status", {status: t("status." + after.status)}));
      }
      if (after.priority !== before.priority && after.priority) {
        parts.push(t("console.change.priority", {priority: t("priority." + after.priority)}));
      }
      if (!parts.length && (frame.change === "assignment" || frame.change === "status" ||
                            frame.change === "refetch")) {
        return "";  /* the same state told twice (an assignment that also opens the ticket) */
      }
      if (!parts.length) {
        var key = "console.change." + frame.change;
        parts.push(Object.prototype.hasOwnProperty.call(labels, key) ? t(key) : t("console.change.other"));
      }
      return parts.join(t("console.change.separator"));
    }

    /* The sidebar as the page was sent it: the team's and the assignee's names, and the forms'
       choices (priority, assignee, team). A choice follows the ticket while it still shows what
       the server last said (data-server-value, set on every live part below); one the agent
       changed and has not saved stays theirs. The forms are looked up each time: a live part
       swapped in replaces them. */
    function follow(selector, value) {
      var select = q(selector);
      if (!select || select.value !== select.getAttribute("data-server-value") ||
          !qa("option", select).some(function (option) { return option.value === value; })) {
        return;
      }
      select.value = value;
      select.setAttribute("data-server-value", value);
      select.dispatchEvent(new CustomEvent("kefu:followed"));
    }

    /* A name this page does not know (an agent or a team newer than the page) is left as it
       is: the server's parts, fetched after every change, bring it (drawLiveParts). */
    function drawName(node, id, names, none) {
      if (!node) {
        return;
      }
      if (!id) {
        node.textContent = none;
      } else if (names && names[id]) {
        node.textContent = names[id];
      }
    }

    function drawSidebar(state) {
      drawName(q("[data-live-team]"), state.team_id, C.teams, "—");
      var assignee = q("[data-live-assignee]");
      drawName(assignee, state.assignee_id, C.agents, assignee && assignee.getAttribute("data-none"));
      if (state.priority) {
        follow("#priority", state.priority);
      }
      follow("#assign-agent", state.assignee_id || "none");
      follow("#assign-team", state.team_id || "");
    }

    /* The parts of the page that follow the server's rules or data the frames do not carry
       (agent/_ticket_live.html: the status, priority, assign, escalate and merge forms, as the
       ticket's status allows them and with the agents as they are now, the tags, the first
       response, the team's and assignee's names, and what a reply does now) come again from
       GET /agent/tickets/{number}/sidebar after each change, and replace those on the page,
       except a form the agent changed and has not saved (any field away from what the server
       last put there): that stays theirs, and follows at the next change after it is saved or
       put back. The reply composer is never replaced, only its "reply-state" part. */
    var liveParts = {asked: 0, timer: null};

    function markServerValues(root) {
      qa("select, input:not([type=hidden]), textarea", root).forEach(function (field) {
        field.setAttribute("data-server-value", field.value);
      });
    }

    function edited(root) {
      return qa("[data-server-value]", root).some(function (field) {
        return field.value !== field.getAttribute("data-server-value") ||
          (field.tagName !== "SELECT" && field.value !== "");  /* a note kept from an error page */
      });
    }

    function learnNames(root) {
      [["[data-live-team]", "teams"], ["[data-live-assignee]", "agents"]].forEach(function (pair) {
        var node = q(pair[0], root);
        var id = node && node.getAttribute("data-id");
        if (id) {
          C[pair[1]] = C[pair[1]] || {};
          C[pair[1]][id] = node.textContent;
        }
      });
    }

    function drawLiveParts(html) {
      var parsed = new DOMParser().parseFromString(html, "text/html");
      var root = q("[data-ticket-sidebar]", parsed);
      if (!root || root.getAttribute("data-ticket-sidebar") !== number) {
        return;  /* merged away, signed out: not this page's */
      }
      learnNames(root);
      qa("[data-live-part]", root).forEach(function (fresh) {
        var name = fresh.getAttribute("data-live-part");
        var current = q('[data-live-part="' + name + '"]');
        if (!current || edited(current)) {
          return;
        }
        var focused = current.contains(document.activeElement) && document.activeElement.id;
        fresh = document.importNode(fresh, true);
        current.replaceWith(fresh);
        markServerValues(fresh);
        fresh.dispatchEvent(new CustomEvent("kefu:swapped", {bubbles: true}));
        if (focused && document.getElementById(focused)) {
          document.getElementById(focused).focus();
        }
      });
    }

    function fetchLiveParts() {
      /* counted when asked, not when sent: an answer still on its way when the next change
         comes describes the ticket before that change (the change's own frame may already
         have been drawn), so it is dropped, even while the next ask waits out its delay */
      var asked = ++liveParts.asked;
      window.clearTimeout(liveParts.timer);
      liveParts.timer = window.setTimeout(function () {
        fetch("/agent/tickets/" + encodeURIComponent(number) + "/sidebar",
              {credentials: "same-origin", headers: {"Accept": "text/html"}}).then(function (response) {
          return response.ok ? response.text() : "";
        }).then(function (html) {
          if (html && asked === liveParts.asked) {  /* one overtaken by a later ask is dropped */
            drawLiveParts(html);
          }
        }, function () { /* offline: the catch-up asks again */ });
      }, 50);
    }

    qa("[data-live-part]").forEach(markServerValues);

    /* A first reply (this agent's, acknowledged, or a colleague's) sets the first response. */
    function awaitingFirstResponse() {
      var node = q("[data-first-response]");
      return !!node && node.getAttribute("data-first-response") === "";
    }
    Socket.on("message", function (frame) {
      if (frame.ticket === number && frame.author && frame.author.kind === "agent" &&
          !frame.internal && awaitingFirstResponse()) {
        fetchLiveParts();
      }
    });
    Socket.on("ack", function (frame) {
      if (frame.ticket === number && awaitingFirstResponse()) {
        fetchLiveParts();
      }
    });

    Socket.on("ticket", function (frame) {
      if (frame.ticket !== number || !frame.state) {
        return;
      }
      var what = changeText(C.ticket || {}, frame);
      drawSidebar(frame.state);
      fetchLiveParts();
      if (C.ticket) {  /* who may read it now: the mention picker offers only them */
        ["status", "pending_reason", "priority", "team_id", "assignee_id"].forEach(function (key) {
          C.ticket[key] = frame.state[key];
        });
      }
      var statusBox = q("[data-live-status]");
      if (statusBox) {
        statusBox.textContent = "";
        statusBox.appendChild(statusBadge(frame.state.status, frame.state.pending_reason));
      }
      var priorityBox = q("[data-live-priority]");
      if (priorityBox && frame.state.priority) {
        priorityBox.textContent = "";
        priorityBox.appendChild(priorityBadge(frame.state.priority));
      }
      // Our own changes (a first reply opens the ticket) need no "changed by someone else".
      if (changed && what && frame.change !== "message" && frame.by_agent_id !== me.id) {
        q("[data-text]", changed).textContent = t("console.ticket_changed", {what: what});
        changed.hidden = false;
      }
    });

    /* Moved where this agent cannot read it (another team, another agent): say so, since a
       reply can no longer be sent from here. */
    Socket.on("unsubscribed", function (frame) {
      if (frame.ticket === number && frame.reason === "no_access" && changed) {
        q("[data-text]", changed).textContent = t("console.no_access");
        changed.hidden = false;
        changed.classList.add("alert-warn");
      }
    });

    /* Back after an outage: the `ticket` frames of the gap never came (the messages do, from
       `since`). The ticket as the API has it now goes through the live handler above, as a
       frame of change "refetch" (the banner only when something differs from what the page
       showed); a 404 means it moved where this agent cannot read it, said as the live
       `unsubscribed` says it. */
    Socket.on("refetch", function () {
      /* without its messages: they resume from `since` */
      api("GET", "/api/v1/tickets/" + encodeURIComponent(number) + "?messages=false").then(function (ticket) {
        if (!ticket || ticket.number !== number) {
          return;
        }
        Socket.emit("ticket", {type: "ticket", ticket: number, change: "refetch", state: {
          number: number, status: ticket.status, pending_reason: ticket.pending_reason,
          priority: ticket.priority, assignee_id: ticket.assignee_id, team_id: ticket.team_id}});
      }, function (error) {
        if (error && error.status === 404) {
          Socket.emit("unsubscribed", {type: "unsubscribed", ticket: number, reason: "no_access"});
        }
      });
    });

    /* The ticket's language changed (its row comes whole): the heading and the language
       shown say it as a reload would. */
    Socket.on("inbox", function (frame) {
      var ticket = frame.ticket;
      if (ticket.number !== number || !ticket.language || !C.ticket ||
          ticket.language === C.ticket.language) {
        return;
      }
      C.ticket.language = ticket.language;  /* customers' messages without their own */
      setLang(q(".ticket-head h1"), ticket.language);  /* the subject */
      var shown = q('[data-testid="ticket-language"]');
      if (shown) {
        shown.textContent = languageName(ticket.language, ticket.language_name);
        setLang(shown, ticket.language);
      }
    });

    Socket.on("inbox", function (frame) {
      if (frame.ticket.number === number && frame.ticket.last_customer_message_at) {
        state.lastCustomerAt = frame.ticket.last_customer_message_at;
        if (visible()) {
          Unread.seen(number, state.lastCustomerAt);
        }
      }
    });

    /* A send to keep track of until it is acknowledged (the composer's, or one from before a
       reload). */
    function trackPending(frame, attachments) {
      var node = messageNode({body: frame.body, internal: frame.internal,
                              author: {kind: "agent", name: me.name}, attachments: attachments},
                             {pending: true});
      node.setAttribute("data-client-msg-id", frame.client_msg_id);
      var pending = state.pending[frame.client_msg_id] = {frame: frame, node: node, failed: false,
                                                          attachments: attachments};
      insertInOrder(node, null);
      savePending();
      return pending;
    }

    try {
      JSON.parse(window.localStorage.getItem(pendingKey) || "[]").forEach(function (saved) {
        if (saved && saved.frame && typeof saved.frame.client_msg_id === "string" &&
            !state.pending[saved.frame.client_msg_id]) {
          pendingStatus(trackPending(saved.frame, saved.attachments || []), t("console.queued"));
        }
      });
    } catch (e) { /* nothing usable */ }

    markSeen();
    return {state: state, messageNode: messageNode, insertInOrder: insertInOrder,
            pendingStatus: pendingStatus, trackPending: trackPending, markSeen: markSeen};
  }

  /* ------------------------------------------------------------ the composer */

  function setupComposer(ticketView) {
    var form = q("[data-composer]");
    if (!form) {
      return;
    }
    var state = ticketView.state;
    var box = q('[data-testid="reply-box"]', form);
    var sendButton = q('[data-testid="send-button"]', form);
    var noteToggle = q('[data-testid="note-toggle"]', form);
    var label = q("[data-composer-label]", form);
    var hint = q("[data-composer-hint]", form);
    var replyAction = form.getAttribute("action");
    var noteForm = q("[data-note-form]");
    var uploads = [];  /* {id, name, node, busy} */
    var fileInput = q('[data-testid="attachment-input"]', form);
    var fileList = q('[data-testid="attachment-list"]', form);
    if (noteForm) {
      noteForm.hidden = true;  /* the note toggle does it */
    }

    /* The text being written survives a reload or a closed tab (this agent, this ticket), with
       whether it is an internal note: a note must never come back as a reply to the customer. */
    var draftKey = "kefu.draft." + me.id + "." + ((C.ticket && C.ticket.number) || "");
    function saveDraft() {
      try {
        if (box.value.trim()) {
          window.localStorage.setItem(draftKey, JSON.stringify({text: box.value, note: noteMode()}));
        } else {
          window.localStorage.removeItem(draftKey);
        }
      } catch (e) { /* storage blocked: no drafts */ }
    }
    try {
      var draft = JSON.parse(window.localStorage.getItem(draftKey) || "null");
      if (draft && typeof draft.text === "string" && !box.value) {
        if (draft.note && !noteToggle) {
          draft = null;  /* a note where notes cannot be written: not as a reply */
        } else if (noteToggle) {
          noteToggle.checked = !!draft.note;
        }
        if (draft) {
          box.value = draft.text;
        }
      }
    } catch (e) { /* storage blocked, or a draft from before notes were kept apart */ }
    box.addEventListener("input", saveDraft);
    window.addEventListener("pagehide", saveDraft);  /* macros and mentions set the text too */

    function noteMode() {
      return !!(noteToggle && noteToggle.checked);
    }

    /* Closed while the page was open (the live part "reply-state", agent/_ticket_live.html):
       a reply cannot go, the text stays in the box (and the draft), a note still goes. */
    function replyRefused() {
      var part = q('[data-live-part="reply-state"]', form);
      return !noteMode() && !!part && part.getAttribute("data-can-reply") === "false";
    }

    function applyReplyState() {
      sendButton.disabled = replyRefused();
    }
    form.addEventListener("kefu:swapped", applyReplyState);

    function applyMode() {
      applyReplyState();
      var note = noteMode();
      form.classList.toggle("composer-note", note);
      label.textContent = t(note ? "console.note_label" : "console.reply_label");
      hint.textContent = t(note ? "console.note_hint" : "console.reply_hint");
      sendButton.textContent = t(note ? "console.add_note" : "console.send_reply");
      form.setAttribute("action", note ? form.getAttribute("data-note-action") : replyAction);
      if (!note) {
        closeMentions();
      }
    }

    if (noteToggle) {
      noteToggle.addEventListener("change", function () { applyMode(); saveDraft(); box.focus(); });
    }

    /* ---- typing */
    var typingSentAt = 0;
    var typingTimer = null;
    var typingOn = false;

    function sendTyping(on) {
      if (on === typingOn && (!on || Date.now() - typingSentAt < 3000)) {
        return;
      }
      if (Socket.send({type: "typing", ticket: state.number, state: on, internal: noteMode()})) {
        typingOn = on;
        typingSentAt = Date.now();
      }
    }

    box.addEventListener("input", function () {
      sendTyping(box.value.trim().length > 0);
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { sendTyping(false); }, 4000);
      if (noteMode()) {
        updateMentions();
      }
    });
    box.addEventListener("blur", function () {
      setTimeout(function () { sendTyping(false); }, 200);
    });

    /* ---- sending */
    function send() {
      var body = box.value.trim();
      if (!body || replyRefused()) {
        return;
      }
      if (uploads.some(function (u) { return u.busy; })) {
        return;  /* wait for the files */
      }
      var frame = {type: "send", ticket: state.number, client_msg_id: newClientId(), body: body,
                   internal: noteMode(),
                   attachment_ids: uploads.filter(function (u) { return u.id; }).map(function (u) { return u.id; })};
      var pending = ticketView.trackPending(frame, uploads.filter(function (u) { return u.id; })
        .map(function (u) { return {id: u.id, filename: u.name}; }));
      pending.node.scrollIntoView({block: "end"});
      if (!Socket.send(frame)) {
        /* offline now: it goes out, with the same client_msg_id, once the socket is back */
        ticketView.pendingStatus(pending, t("console.queued"));
      }
      box.value = "";
      saveDraft();
      uploads = [];
      fileList.textContent = "";
      fileList.hidden = true;
      clearTimeout(typingTimer);
      sendTyping(false);
    }

    form.addEventListener("submit", function (event) {
      if (replyRefused()) {
        event.preventDefault();  /* refused by the server too: the words stay here */
        return;
      }
      if (!Socket.live()) {
        return;  /* no socket session on this page: the plain form post */
      }
      event.preventDefault();
      send();
    });

    box.addEventListener("keydown", function (event) {
      if (mentionKeys(event)) {
        return;
      }
      if (event.key === "Enter" && !event.shiftKey && !composing(event)) {
        event.preventDefault();
        if (Socket.live()) {
          send();
        } else if (box.value.trim()) {
          form.requestSubmit ? form.requestSubmit() : form.submit();
        }
      }
    });

    /* ---- attachments: upload first, then send the ids */
    function uploadRefusal(error) {
      /* in the console's language, not the server's English */
      if (error.code === "attachment_type") {
        return t("console.upload_type");
      }
      if (error.code === "attachment_too_large" || error.status === 413) {
        return t("console.upload_size");
      }
      return t("console.upload_failed");
    }

    function renderUpload(upload) {
      upload.node.textContent = "";
      if (upload.busy) {
        upload.node.appendChild(document.createTextNode(t("console.uploading", {name: upload.name})));
        return;
      }
      if (upload.error) {
        upload.node.classList.add("upload-failed");
        upload.node.appendChild(document.createTextNode(upload.name + ": " + upload.error));
      } else {
        upload.node.appendChild(document.createTextNode(upload.name));
      }
      var remove = el("button", {type: "button", className: "btn btn-link btn-small",
                                 "aria-label": t("console.attachment_remove", {name: upload.name}), text: "×"});
      remove.addEventListener("click", function () {
        uploads = uploads.filter(function (u) { return u !== upload; });
        upload.node.remove();
        fileList.hidden = uploads.length === 0;
      });
      upload.node.appendChild(remove);
    }

    if (fileInput) {
      fileInput.addEventListener("change", function () {
        Array.prototype.slice.call(fileInput.files || []).forEach(function (file) {
          var upload = {id: null, name: file.name, busy: true, error: null,
                        node: el("li", {"data-testid": "attachment-item"})};
          uploads.push(upload);
          fileList.appendChild(upload.node);
          fileList.hidden = false;
          renderUpload(upload);
          var data = new FormData();
          data.append("file", file, file.name);
          api("POST", "/api/v1/tickets/" + encodeURIComponent(state.number) + "/attachments", data)
            .then(function (attachment) {
              upload.id = attachment.id;
            }, function (error) {
              upload.error = uploadRefusal(error);
              uploads = uploads.filter(function (u) { return u !== upload; });
            })
            .then(function () {
              upload.busy = false;
              renderUpload(upload);
            });
        });
        fileInput.value = "";
      });
    }

    /* ---- @mentions in notes */
    var mentionList = q('[data-testid="mention-list"]', form);
    var agentsPromise = null;
    var mention = {start: -1, options: [], index: 0, asked: 0};

    function handleOf(agent) {
      return (agent.email || "").split("@")[0];
    }

    function closeMentions() {
      mention.asked += 1;  /* a list still being fetched must not open after this */
      mention.start = -1;
      mention.options = [];
      if (mentionList) {
        mentionList.hidden = true;
        mentionList.textContent = "";
      }
      comboboxState(false);
    }

    /* The reply box is the picker's combobox (ARIA 1.2) while the list is open: it says the
       list is open, which list, and which option is active; closed, it is a plain text box. */
    function comboboxState(open) {
      if (open) {
        box.setAttribute("aria-autocomplete", "list");
        box.setAttribute("aria-controls", mentionList.id);
        box.setAttribute("aria-expanded", "true");
        box.setAttribute("aria-activedescendant", mentionList.id + "-" + mention.index);
      } else {
        ["aria-autocomplete", "aria-controls", "aria-expanded", "aria-activedescendant"].forEach(
          function (name) { box.removeAttribute(name); });
      }
    }

    /* An agent the note can be shown to: a supervisor, the assignee, or one of the ticket's
       team (the server notifies no one else). */
    function mayRead(agent) {
      var ticket = C.ticket || {};
      return agent.role === "supervisor" || agent.role === "admin" ||
        agent.id === ticket.assignee_id ||
        (!!ticket.team_id && (agent.team_ids || []).indexOf(ticket.team_id) >= 0);
    }

    function updateMentions() {
      if (!mentionList) {
        return;
      }
      var caret = box.selectionStart;
      var before = box.value.slice(0, caret);
      /* an @ not inside an email address; what follows may be any script ("@李" finds 李娜) */
      var match = /(^|[^A-Za-z0-9._%+\-@])@([^\s@]{0,64})$/.exec(before);
      if (!match) {
        closeMentions();
        return;
      }
      var query = match[2].toLowerCase();
      var start = caret - match[2].length - 1;
      var asked = ++mention.asked;
      agentsPromise = agentsPromise || api("GET", "/api/v1/agents").then(function (data) {
        return (data.items || []).filter(function (a) { return a.is_active && a.id !== me.id; });
      }, function () { agentsPromise = null; return []; });
      agentsPromise.then(function (agents) {
        if (asked !== mention.asked) {
          return;  /* typed on, or closed, meanwhile: a later call answers */
        }
        mention.start = start;
        mention.options = agents.filter(function (a) {
          return mayRead(a) && (!query || handleOf(a).toLowerCase().indexOf(query) >= 0 ||
            a.display_name.toLowerCase().replace(/\s+/g, "").indexOf(query) >= 0);
        }).slice(0, 8);
        mention.index = 0;
        renderMentions();
      });
    }

    function renderMentions() {
      mentionList.textContent = "";
      mention.options.forEach(function (agent, i) {
        var option = el("li", {role: "option", id: mentionList.id + "-" + i, "data-testid": "mention-option",
                               "aria-selected": String(i === mention.index),
                               className: i === mention.index ? "active" : null},
                        [el("strong", {text: agent.display_name}), " ", el("span", {className: "muted", text: "@" + handleOf(agent)})]);
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();
          chooseMention(agent);
        });
        mentionList.appendChild(option);
      });
      mentionList.hidden = mention.options.length === 0;
      comboboxState(!mentionList.hidden);
    }

    function chooseMention(agent) {
      var caret = box.selectionStart;
      var insert = "@" + handleOf(agent) + " ";
      box.value = box.value.slice(0, mention.start) + insert + box.value.slice(caret);
      var position = mention.start + insert.length;
      box.setSelectionRange(position, position);
      closeMentions();
      box.focus();
    }

    function mentionKeys(event) {
      /* While an input method composes ("wang" becoming 王), Enter, Tab and the arrows are
         its own: Enter commits the letters typed, it picks no colleague. */
      if (!mentionList || mentionList.hidden || !mention.options.length || composing(event)) {
        return false;
      }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        mention.index = (mention.index + step + mention.options.length) % mention.options.length;
        renderMentions();
        return true;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        chooseMention(mention.options[mention.index]);
        return true;
      }
      if (event.key === "Escape") {
        closeMentions();
        return true;
      }
      return false;
    }

    /* ---- macros */
    var picker = q('[data-testid="macro-picker"]', form);
    var macroPanel = q('[data-testid="macro-panel"]', form);
    var macroSearch = q('[data-testid="macro-search"]', form);
    var macroLanguage = q('[data-testid="macro-language"]', form);
    var macroList = q('[data-testid="macro-list"]', form);
    var macroEmpty = q("[data-macro-empty]", form);
    var macroCache = {};

    function loadMacros(language) {
      macroCache[language] = macroCache[language] ||
        api("GET", "/api/v1/macros?language=" + encodeURIComponent(language)).then(function (data) {
          return data.items || [];
        }, function () { delete macroCache[language]; return []; });
      return macroCache[language];
    }

    function insertText(text) {
      var start = box.selectionStart;
      var end = box.selectionEnd;
      var before = box.value.slice(0, start);
      var spacer = before && !/\s$/.test(before) ? "\n" : "";
      box.value = before + spacer + text + box.value.slice(end);
      var position = before.length + spacer.length + text.length;
      box.focus();
      box.setSelectionRange(position, position);
      box.dispatchEvent(new Event("input"));
    }

    function useMacro(macro) {
      api("POST", "/api/v1/macros/" + macro.id + "/render?ticket=" + encodeURIComponent(state.number))
        .then(function (rendered) {
          insertText(rendered.text);
          if (rendered.unknown_variables && rendered.unknown_variables.length) {
            toast(t("console.macro_unknown", {names: rendered.unknown_variables.map(function (v) {
              return "{" + v + "}";
            }).join(", ")}), {kind: "warn"});
          }
          toggleMacros(false);
        }, function () {
          toast(t("console.macro_failed"), {kind: "warn"});
        });
    }

    function renderMacros() {
      var query = macroSearch.value.trim().toLowerCase();
      loadMacros(macroLanguage.value).then(function (items) {
        var shown = items.filter(function (m) { return !query || m.title.toLowerCase().indexOf(query) >= 0; });
        macroList.textContent = "";
        shown.forEach(function (macro) {
          var item = el("li", {role: "option", tabindex: "0", "data-testid": "macro-item", "data-macro-id": macro.id},
                        [el("strong", {text: macro.title}), " ", el("span", {className: "badge", text: macro.language}),
                         macro.scope === "personal" ?  /* only this agent's: a shared one may bear the same title */
                           el("span", {className: "badge", "data-testid": "macro-personal", text: t("console.macro_personal")}) : null,
                         el("span", {className: "macro-preview muted", text: macro.body.slice(0, 140)})]);
          item.addEventListener("click", function () { useMacro(macro); });
          item.addEventListener("keydown", function (event) {
            if (event.key === "Enter" || event.key === " ") {
              event.preventDefault();
              useMacro(macro);
            }
          });
          macroList.appendChild(item);
        });
        macroEmpty.hidden = shown.length > 0;
      });
    }

    function toggleMacros(open) {
      macroPanel.hidden = !open;
      picker.setAttribute("aria-expanded", String(open));
      if (open) {
        renderMacros();
        macroSearch.focus();
      }
    }

    if (picker && macroPanel) {
      picker.addEventListener("click", function () { toggleMacros(macroPanel.hidden); });
      macroSearch.addEventListener("input", renderMacros);
      macroLanguage.addEventListener("change", renderMacros);
      /* The panel sits inside the reply form: Enter in its search or language box would
         submit the form and send the draft. Enter picks the first macro listed; the arrow
         keys move into and along the list. */
      [macroSearch, macroLanguage].forEach(function (field) {
        field.addEventListener("keydown", function (event) {
          if (event.key === "Enter" && !composing(event)) {
            event.preventDefault();
            var first = q('[data-testid="macro-item"]', macroList);
            if (first && field === macroSearch) {
              first.click();
            }
          }
        });
      });
      macroPanel.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          toggleMacros(false);
          picker.focus();
        } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          var items = qa('[data-testid="macro-item"]', macroList);
          var at = items.indexOf(document.activeElement);
          var next = event.key === "ArrowDown" ? items[at + 1] : items[at - 1];
          if (next) {
            event.preventDefault();
            next.focus();
          } else if (event.key === "ArrowUp" && at === 0) {
            event.preventDefault();
            macroSearch.focus();
          }
        }
      });
    }

    applyMode();  /* also: a restored note draft comes back as a note */
  }

  /* ------------------------------------------------------------ copy buttons */

  /* The customer panel shows txids shortened; their button copies the full value. The
     Clipboard API exists only on secure origins (HTTPS, localhost): a console served over
     plain HTTP on an internal network copies through a selected, hidden text field instead. */
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var field = el("textarea", {readonly: "readonly", "aria-hidden": "true"});
    field.value = text;
    field.style.position = "fixed";
    field.style.opacity = "0";
    document.body.appendChild(field);
    field.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (e) {
      done = false;
    }
    field.remove();
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  /* Delegated: the customer panel's buttons arrive after the page (htmx swaps the panel in). */
  function setupCopy() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-copy]");
      if (!button) {
        return;
      }
      copyText(button.getAttribute("data-copy")).then(function () {
        toast(t("console.copied"), {ttl: 3000});
      }, function () {
        toast(t("console.copy_failed"), {kind: "warn"});
      });
    });
  }

  /* ------------------------------------------------------------ the customer panel */

  /* The ticket page loads the panel's exchange part after it is shown (htmx). What it brings
     that needs JavaScript (the txids' Copy buttons) is shown as on the first page; a panel
     that could not be loaded says so and keeps its link. */
  function panelRequest(event) {
    var target = event.detail && event.detail.target;
    return !!(target && target.id === "customer-panel");
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = q("#customer-panel");
    if (panel && panel.getAttribute("data-state") === "loaded") {
      qa("[data-js-only]", panel).forEach(function (node) { node.hidden = false; });
    }
  });
  ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (!panelRequest(event)) {
        return;
      }
      var panel = event.detail.target;
      var text = q("[data-loading-text]", panel);
      panel.removeAttribute("aria-busy");
      panel.setAttribute("data-state", "failed");
      if (text) {
        text.textContent = t("console.panel_failed");
      }
    });
  });

  /* ------------------------------------------------------------ assigning a ticket */

  /* The assignee list names each agent's status and load, and says who is outside the team
     chosen beside it (the server writes the labels for the ticket's team; these follow the
     team choice and the agents' statuses). Choosing someone offline or outside that team is
     said under the list before anything is saved, and the button then reads "Save anyway". */
  function setupAssign() {
    var wired = {update: function () {}};
    /* the assign form swapped in (a reopened ticket, agents newer than the page) */
    document.addEventListener("kefu:swapped", function (event) {
      if (event.target.getAttribute("data-live-part") === "assign-form") {
        wired = wireAssign() || {update: function () {}};  /* none: resolved, closed */
      }
    });
    Socket.on("agent_status", function (frame) {
      var agent = frame.agent || {};
      qa("#assign-agent option[data-name]").forEach(function (option) {
        if (option.value === agent.id && agent.status) {
          option.setAttribute("data-status", agent.status);
        }
      });
      wired.update();
    });
    wired = wireAssign() || wired;
  }

  function wireAssign() {
    var select = q("#assign-agent");
    if (!select || !select.form) {
      return null;
    }
    var form = select.form;
    var teamSelect = q("#assign-team", form);
    var warning = q('[data-testid="assign-warning"]', form);
    var button = q('button[type="submit"]', form);
    var saveText = button ? button.textContent : "";
    var touched = false;

    function team() {
      return teamSelect ? teamSelect.value : "";
    }

    function inTeam(option) {
      var teams = (option.getAttribute("data-teams") || "").split(" ");
      return !team() || teams.indexOf(team()) >= 0;
    }

    function label(option) {
      var text = t("console.assign.option", {
        name: option.getAttribute("data-label-name"),
        status: t("agent_status." + option.getAttribute("data-status")),
        load: option.getAttribute("data-load"), capacity: option.getAttribute("data-capacity")});
      return inTeam(option) ? text : text + " · " + t("console.assign.not_in_team", {team: C.teams[team()] || ""});
    }

    function update() {
      qa("option[data-name]", select).forEach(function (option) {
        var text = label(option);
        if (option.textContent !== text) {
          option.textContent = text;
        }
      });
      var chosen = select.options[select.selectedIndex];
      var said = [];
      if (chosen && chosen.hasAttribute("data-name")) {
        var name = chosen.getAttribute("data-name");
        if (chosen.getAttribute("data-status") === "offline") {
          said.push(t("console.assign.warn_offline", {name: name}));
        }
        if (!inTeam(chosen)) {
          said.push(t("console.assign.warn_team", {name: name, team: C.teams[team()] || ""}));
        }
      }
      if (warning) {
        warning.textContent = "";
        said.forEach(function (text) { warning.appendChild(el("span", {text: text})); });
        warning.hidden = !said.length;
      }
      if (button) {
        button.textContent = touched && said.length ? t("console.assign.anyway") : saveText;
      }
    }

    [select, teamSelect].forEach(function (field) {
      if (field) {
        field.addEventListener("change", function () { touched = true; update(); });
        /* the ticket was given to someone else, or moved, while the page was open */
        field.addEventListener("kefu:followed", update);
      }
    });
    update();
    return {update: update};
  }

  /* ------------------------------------------------------------ the supervisor view */

  function setupSupervisor() {
    var root = document;
    var offset = 0;  /* server clock − ours */

    function body(testid) {
      return q('[data-testid="' + testid + '"] tbody', root);
    }

    function sinceCell(tag, attrs, since, count) {
      var cell = el(tag, attrs);
      if (since && count !== 0) {
        cell.setAttribute("data-since", since);
      }
      cell.textContent = since && count !== 0 ? duration((Date.now() + offset - Date.parse(since)) / 1000) : "—";
      return cell;
    }

    /* The row's cells each named by their column's head (data-label), as the server names
       them: on a phone the lists of tickets are cards, a label beside each value. */
    function labelCells(row, tbody) {
      var heads = qa("thead th", tbody.parentNode);
      Array.prototype.forEach.call(row.children, function (cell, index) {
        if (cell.tagName === "TD" && heads[index]) {
          cell.setAttribute("data-label", heads[index].textContent.trim());
        }
      });
      return row;
    }

    function queueRows(testid, rows, nameOf, langOf) {
      var tbody = body(testid);
      if (!tbody) {
        return;
      }
      /* each cell names its column, as the server's do: on a phone the rows are cards */
      var label = {};
      qa("thead th", tbody.parentNode).forEach(function (th, index) {
        label[["name", "waiting", "longest_wait", "sla_at_risk", "agents_online"][index]] = th.textContent.trim();
      });
      tbody.textContent = "";
      rows.forEach(function (row) {
        tbody.appendChild(el("tr", {"data-key": row.key, className: row.sla_at_risk ? "row-risk" : null}, [
          el("th", {scope: "row", text: nameOf(row), lang: langOf ? langCode(langOf(row)) : null}),
          el("td", {className: "num", "data-col": "waiting", "data-label": label.waiting, text: String(row.waiting)}),
          sinceCell("td", {className: "num", "data-col": "longest_wait", "data-label": label.longest_wait}, row.oldest_at, row.waiting),
          el("td", {className: "num", "data-col": "sla_at_risk", "data-label": label.sla_at_risk, text: String(row.sla_at_risk)}),
          el("td", {className: "num", "data-col": "agents_online", "data-label": label.agents_online, text: String(row.agents_online)})
        ]));
      });
    }

    /* "Showing the first 50 of 64": a list stops before its total does. */
    function listedOf(name, shown, total) {
      var note = q('[data-listed="' + name + '"]');
      if (note) {
        note.hidden = !(total > shown);
        note.textContent = total > shown ? t("supervisor.listed_of", {shown: shown, total: total}) : "";
      }
    }

    function render(frame) {
      offset = Date.parse(frame.at) - Date.now();
      var totals = frame.totals || {};
      qa("[data-total]").forEach(function (node) {
        var name = node.getAttribute("data-total");
        if (name === "longest_wait") {
          node.removeAttribute("data-since");
          if (totals.oldest_at && totals.waiting) {
            node.setAttribute("data-since", totals.oldest_at);
          } else {
            node.textContent = "—";
          }
        } else if (Object.prototype.hasOwnProperty.call(totals, name)) {
          node.textContent = String(totals[name]);
        }
      });
      var risk = q('[data-total-box="sla_at_risk"]');
      if (risk) {
        risk.classList.toggle("stat-risk", !!totals.sla_at_risk);
      }
      queueRows("supervisor-teams", frame.teams || [], function (row) { return row.name || t("supervisor.no_team"); });
      queueRows("supervisor-languages", frame.languages || [], function (row) { return languageName(row.key, row.name); },
                function (row) { return row.key; });  /* named by its autonym */

      var agents = body("supervisor-agents");
      if (agents) {
        agents.textContent = "";
        (frame.agents || []).forEach(function (a) {
          agents.appendChild(el("tr", {"data-key": a.id, className: a.load >= a.capacity ? "row-full" : null}, [
            el("th", {scope: "row"}, [a.name + " ", el("span", {className: "muted", text: t("role." + a.role)})]),
            el("td", {"data-col": "status"}, [el("span", {className: "status-dot status-dot-" + a.status, "aria-hidden": "true"}),
                                              " " + t("agent_status." + a.status)]),
            el("td", {className: "num", "data-col": "load", text: String(a.load)}),
            el("td", {className: "num", "data-col": "capacity", text: String(a.capacity)})
          ]));
        });
      }

      var escalated = body("supervisor-escalated");
      if (escalated) {
        escalated.textContent = "";
        (frame.escalated || []).forEach(function (e) {
          escalated.appendChild(labelCells(el("tr", {"data-key": e.number}, [
            el("td", {className: "mono"}, [el("a", {href: "/agent/tickets/" + encodeURIComponent(e.number), text: e.number})]),
            el("td", {"data-col": "subject", text: e.subject, lang: langCode(e.language)}), el("td", {"data-col": "reason", text: e.reason}), el("td", {}, [timeElement(e.since)])
          ]), escalated));
        });
        var noEscalations = q('[data-empty="escalated"]');
        if (noEscalations) {
          noEscalations.hidden = (frame.escalated || []).length > 0;
        }
        listedOf("escalated", (frame.escalated || []).length, totals.escalated);
      }

      var waiting = body("supervisor-waiting");
      if (waiting) {
        waiting.textContent = "";
        (frame.waiting || []).forEach(function (w) {
          waiting.appendChild(labelCells(el("tr", {"data-key": w.number, className: w.at_risk ? "row-risk" : null}, [
            el("td", {className: "num", text: String(w.position)}),
            el("td", {className: "mono"}, [el("a", {href: "/agent/tickets/" + encodeURIComponent(w.number), text: w.number})]),
            el("td", {"data-col": "subject", text: w.subject, lang: langCode(w.language)}),
            el("td", {text: (w.team_id && C.teams[w.team_id]) || "—"}),
            /* its queue's language, as "Queues by language" names it ("中文" for zh-CN) */
            el("td", {"data-col": "language", text: languageName(w.queue_language || w.language),
                      lang: langCode(w.queue_language || w.language)}),
            el("td", {}, [priorityBadge(w.priority)]),
            sinceCell("td", {className: "num", "data-col": "waited"}, w.created_at, 1)
          ]), waiting));
        });
        var noWaiting = q('[data-empty="waiting"]');
        if (noWaiting) {
          noWaiting.hidden = (frame.waiting || []).length > 0;
        }
        listedOf("waiting", (frame.waiting || []).length, totals.waiting);
      }
      var updated = q('[data-testid="supervisor-updated"]');
      if (updated) {
        updated.textContent = "";
        updated.appendChild(timeElement(frame.at));
      }
      tick();
    }

    function tick() {
      qa("[data-since]").forEach(function (node) {
        var since = Date.parse(node.getAttribute("data-since"));
        if (!isNaN(since)) {
          node.textContent = duration((Date.now() + offset - since) / 1000);
        }
      });
    }

    if (C.supervisor && C.supervisor.at) {
      offset = Date.parse(C.supervisor.at) - Date.now();
    }
    setInterval(tick, 1000);
    Socket.on("supervisor", render);
    Socket.on("agent_status", function (frame) {
      var row = q('[data-testid="supervisor-agents"] tr[data-key="' + (frame.agent && frame.agent.id) + '"]');
      var cell = row && q('[data-col="status"]', row);
      if (cell) {
        cell.textContent = "";
        cell.appendChild(el("span", {className: "status-dot status-dot-" + frame.agent.status, "aria-hidden": "true"}));
        cell.appendChild(document.createTextNode(" " + t("agent_status." + frame.agent.status)));
      }
    });
  }

  /* ------------------------------------------------------------ wiring */

  Socket.on("inbox", function (frame) {
    if (!frame.ticket) {
      return;
    }
    trackLoad(frame.ticket);
    if (listComing) {
      listComing.push(frame);  /* counted against the new list's counts when it is in */
      return;
    }
    countFrame(frame);
    onInboxFrame(frame);
  });

  /* Pages without the inbox list (a ticket, the supervisor view, …) start from the server's
     counts in the console data, as the list does from its own: before the ticket page marks
     its ticket seen, so that one counts 0 here. */
  if (!inboxSection() && C.unread) {
    Unread.load(C.unread.tickets || {}, C.unread.counted_at);
  }
  /* Back after an outage: the agent's own status (set meanwhile by an admin, or by presence),
     their load and, on pages without the inbox list (which reloads itself, counts included),
     the unread counts behind the tab title, as the server has them now. The status goes
     through the live `agent_status` handlers; the open ticket counts 0 again while visible. */
  Socket.on("refetch", function () {
    var choices = statusChoices;
    api("GET", "/agent/console-state").then(function (data) {
      var mine = data && data.me;
      if (!mine || mine.id !== me.id) {
        return;  /* signed out meanwhile: the sign-in page, not ours to read */
      }
      /* A status the agent chose offline goes out on the same welcome, after this request
         left: the server may answer with the status from before it. Theirs stands. */
      if (choices === statusChoices && !wantedStatus) {
        Socket.emit("agent_status", {type: "agent_status",
                                     agent: {id: me.id, name: me.name, status: mine.status}});
      }
      active = {};
      (mine.active || []).forEach(function (number) { active[number] = true; });
      renderLoad();
      if (!inboxSection() && data.unread) {
        Unread.load(data.unread.tickets || {}, data.unread.counted_at);
        if (Ticket) {
          Ticket.markSeen();
        }
      }
    }, function () {});
  });

  observeRows();
  if (live) {
    Ticket = setupTicket();
    setupComposer(Ticket);
  }
  setupAssign();
  setupCopy();
  if (q('[data-testid="supervisor-teams"]')) {
    setupSupervisor();
  }
  Unread.render();
  renderLoad();
  Socket.connect();
})();
