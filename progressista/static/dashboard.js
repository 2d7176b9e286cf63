/* Progressista dashboard: live task columns fed by /ws?mode=delta.
 *
 * Plain script, no build step, no network beyond this server.
 *
 * - Untrusted text (task ids, desc, unit, postfix, host, meta) only ever goes
 *   into textContent or attribute values: nothing is parsed as HTML.
 * - Messages only update the in-memory task map and mark ids dirty; the DOM is
 *   patched in place (cards keyed by task_id) at most every RENDER_INTERVAL_MS,
 *   inside requestAnimationFrame, so thousands of live bars stay smooth.
 * - The token (?token=) is read once, dropped from the address bar, kept in
 *   sessionStorage for reloads, sent as a Bearer header on REST calls and as
 *   ?token= on the WebSocket (browsers cannot set headers there).
 */
(() => {
  "use strict";

  const RENDER_INTERVAL_MS = 200; // at most five renders per second
  const AGE_TICK_MS = 1000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const MESSAGE_LIMIT = 5;
  const TOKEN_KEY = "progressista.token";
  const COLLAPSED_KEY = "progressista.collapsed";
  const CLOSE_POLICY_VIOLATION = 1008;
  const SNAPSHOT_TIMEOUT_MS = 15000; // a socket that never delivers its snapshot is retried

  const COLUMNS = ["active", "stale", "completed"];
  // The "stale" column is Needs Attention: alive but idle (stale) or not heard from at all (lost).
  const COLUMN_OF = {
    start: "active", update: "active", stale: "stale", lost: "stale", close: "completed", error: "completed",
  };
  const STATUS_LABEL = {
    start: "starting", update: "running", stale: "stale", lost: "lost", close: "done", error: "error",
  };
  // Group aggregates, as progressista/groups.py computes them for GET /groups (keep the two in step).
  const SEVERITY = ["close", "start", "update", "stale", "lost", "error"]; // worst last
  const BUCKETS = { active: ["start", "update"], stale: ["stale"], lost: ["lost"], done: ["close"], error: ["error"] };
  const BUCKET_OF = {};
  for (const [bucket, statuses] of Object.entries(BUCKETS)) for (const status of statuses) BUCKET_OF[status] = bucket;
  const CONNECTION_TEXT = {
    connecting: "Connecting…",
    connected: "Connected",
    disconnected: "Disconnected — retrying…",
    unauthorized: "Unauthorized",
    refused: "Refused",
  };
  // Meta keys shown in the card footer rather than as chips.
  const HOST_KEYS = ["host", "hostname", "node"];
  const JOB_KEYS = ["job_id", "job", "run_id", "run"];

  const $ = (id) => document.getElementById(id);
  const ui = {
    board: $("board"),
    connection: $("connection"),
    filter: $("filter"),
    clearStale: $("clear-stale"),
    clearCompleted: $("clear-completed"),
    messages: $("messages"),
    auth: $("auth"),
    authTitle: $("auth-title"),
    authDetail: $("auth-detail"),
    authForm: $("auth-form"),
    authToken: $("auth-token"),
    tabs: $("tabs"),
    columns: {},
  };
  for (const name of COLUMNS) {
    const section = $("column-" + name);
    ui.columns[name] = {
      section,
      body: section.querySelector(".column-body"),
      empty: section.querySelector(".empty"),
      counts: document.querySelectorAll(`[data-count="${name}"]`),
    };
  }

  // ---------------------------------------------------------------- token

  function takeToken() {
    const url = new URL(location.href);
    let token = url.searchParams.get("token");
    if (token !== null) {
      url.searchParams.delete("token");
      history.replaceState(history.state, "", url.pathname + url.search + url.hash);
      try {
        if (token) sessionStorage.setItem(TOKEN_KEY, token);
        else sessionStorage.removeItem(TOKEN_KEY);
      } catch (_) { /* storage may be disabled */ }
    } else {
      try { token = sessionStorage.getItem(TOKEN_KEY); } catch (_) { token = null; }
    }
    return token || "";
  }

  let token = takeToken();

  // ---------------------------------------------------------------- REST

  // Relative to the page, so the dashboard also works behind a path prefix.
  const apiBase = new URL("..", location.href);

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status; // 0: no response at all
      this.detail = detail;
    }
  }

  async function api(method, path) {
    const url = new URL(path, apiBase);
    const headers = { Accept: "application/json" };
    if (token) {
      // fetch() refuses header values outside Latin-1; fall back to the query.
      if (/^[\x20-\x7e]*$/.test(token)) headers.Authorization = "Bearer " + token;
      else url.searchParams.set("token", token);
    }
    let response;
    try {
      response = await fetch(url, { method, headers, cache: "no-store", referrerPolicy: "no-referrer" });
    } catch (_) {
      throw new ApiError(0, "network error, the server did not answer");
    }
    let body = null;
    try { body = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
      throw new ApiError(response.status, detail || "request failed");
    }
    return body;
  }

  function describeFailure(err) {
    if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
    if (err.status === 401 || err.status === 403) {
      return `Unauthorized — token rejected (${err.status}). Open the dashboard with ?token=<token>.`;
    }
    if (err.status === 0) return "network error: the server is unreachable.";
    return `${err.status}: ${err.detail}`;
  }

  // Ages are measured on the server clock (updated_at); estimate the offset
  // from the HTTP Date header and only apply it when clocks clearly disagree.
  let clockSkew = 0;
  async function syncClock() {
    try {
      const before = Date.now();
      const response = await fetch(new URL("health", apiBase), { cache: "no-store", referrerPolicy: "no-referrer" });
      const after = Date.now();
      const date = Date.parse(response.headers.get("date") || "");
      if (!Number.isNaN(date)) {
        const skew = date + 500 - (before + after) / 2; // Date has one-second resolution
        clockSkew = Math.abs(skew) > 2000 ? skew / 1000 : 0;
      }
    } catch (_) { /* keep the previous estimate */ }
  }
  const serverNow = () => Date.now() / 1000 + clockSkew;

  // ---------------------------------------------------------------- messages

  function showMessage(text, kind = "error", timeoutMs = 0) {
    for (const node of ui.messages.children) {
      if (node.dataset.text === text) { // the same failure again: bump it, do not stack it
        const repeat = Number(node.dataset.repeat || "1") + 1;
        node.dataset.repeat = String(repeat);
        node.querySelector(".msg-repeat").textContent = "×" + repeat;
        return node;
      }
    }
    const node = el("div", "msg msg-" + kind);
    node.dataset.testid = "message";
    node.dataset.kind = kind;
    node.dataset.text = text;
    node.setAttribute("role", kind === "error" ? "alert" : "status");
    const close = el("button", "icon-btn msg-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss message");
    close.addEventListener("click", () => node.remove());
    node.append(el("span", "msg-text", text), el("span", "msg-repeat"), close);
    ui.messages.append(node);
    while (ui.messages.children.length > MESSAGE_LIMIT) ui.messages.firstElementChild.remove();
    if (timeoutMs) setTimeout(() => node.remove(), timeoutMs);
    return node;
  }

  // ---------------------------------------------------------------- state

  const tasks = new Map(); // task_id → task, as the server last described it
  const dirty = new Set(); // task ids whose card needs a look
  let structureDirty = true; // order, columns, groups or the filter changed

  function applySnapshot(snapshot) {
    for (const id of tasks.keys()) {
      if (!Object.prototype.hasOwnProperty.call(snapshot, id)) {
        tasks.delete(id);
        dirty.add(id);
      }
    }
    for (const id of Object.keys(snapshot)) {
      if (isTask(snapshot[id])) {
        tasks.set(id, snapshot[id]);
        dirty.add(id);
      }
    }
    structureDirty = true;
  }

  function applyDelta(message) {
    if (Array.isArray(message.removed)) {
      for (const id of message.removed) {
        if (tasks.delete(String(id))) dirty.add(String(id));
      }
    }
    const changed = message.tasks && typeof message.tasks === "object" ? message.tasks : {};
    for (const id of Object.keys(changed)) {
      if (isTask(changed[id])) {
        tasks.set(id, changed[id]);
        dirty.add(id);
      }
    }
  }

  function forget(id) {
    if (tasks.delete(id)) {
      dirty.add(id);
      scheduleRender();
    }
  }

  const isTask = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

  // ---------------------------------------------------------------- connection

  let socket = null;
  let retryTimer = 0;
  let attempts = 0;
  let stopped = false; // a rejected token: wait for the user instead of retrying
  let connectionState = "connecting";

  function webSocketUrl() {
    const url = new URL("ws", apiBase);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("mode", "delta");
    if (token) url.searchParams.set("token", token);
    return url.href;
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (stopped || socket) return;
    let ws;
    try {
      ws = new WebSocket(webSocketUrl());
    } catch (_) {
      setConnection("disconnected");
      scheduleReconnect();
      return;
    }
    socket = ws;
    let synced = false;
    const watchdog = setTimeout(() => {
      if (socket === ws && !synced) ws.close(4000, "no snapshot");
    }, SNAPSHOT_TIMEOUT_MS);
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      synced = true;
      onMessage(event.data);
    };
    ws.onclose = (event) => {
      clearTimeout(watchdog);
      if (socket !== ws) return;
      socket = null;
      if (event.code === CLOSE_POLICY_VIOLATION) {
        refused(event.reason);
        return;
      }
      setConnection("disconnected");
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (stopped || retryTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempts);
    attempts = Math.min(attempts + 1, 16);
    retryTimer = setTimeout(connect, base * (0.75 + Math.random() * 0.5));
  }

  function reconnectSoon() {
    if (!stopped && !socket) {
      attempts = 0;
      connect();
    }
  }

  function onMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch (_) {
      return;
    }
    if (!isTask(message)) return;
    if (message.type === "delta") {
      applyDelta(message);
    } else if (isTask(message.tasks)) { // "snapshot" (or a default-mode message)
      applySnapshot(message.tasks);
      attempts = 0;
      stats.snapshotAt = performance.now();
      if (connectionState !== "connected") {
        setConnection("connected");
        syncClock();
      }
    }
    scheduleRender();
  }

  function setConnection(state) {
    connectionState = state;
    ui.connection.dataset.state = state;
    ui.connection.textContent = CONNECTION_TEXT[state];
    ui.board.classList.toggle("board-offline", state === "disconnected");
    updateTitle();
  }

  // A 1008 close: a wrong or missing token (or an origin the server refuses).
  function refused(reason) {
    stopped = true;
    const tokenProblem = !reason || /token/i.test(reason);
    setConnection(tokenProblem ? "unauthorized" : "refused");
    tasks.clear();
    for (const view of views.values()) dirty.add(view.id);
    structureDirty = true;
    scheduleRender();
    const why = reason ? ` (server said: “${reason}”)` : "";
    if (tokenProblem) {
      ui.authTitle.textContent = "Unauthorized — token rejected";
      ui.authDetail.textContent = token
        ? `The server rejected this dashboard's token${why}. Enter the right token, or reopen the page as /?token=<token>.`
        : `This server requires a token${why}. Enter it below, or open the dashboard as /?token=<token>.`;
      ui.authForm.hidden = false;
    } else {
      ui.authTitle.textContent = "Connection refused by the server";
      ui.authDetail.textContent = `The server closed the live connection${why}.`;
      ui.authForm.hidden = true;
    }
    ui.auth.hidden = false;
    document.body.classList.add("locked");
    if (!ui.authForm.hidden) ui.authToken.focus();
  }

  ui.authForm.addEventListener("submit", (event) => {
    event.preventDefault();
    token = ui.authToken.value.trim();
    ui.authToken.value = "";
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) { /* storage may be disabled */ }
    ui.auth.hidden = true;
    document.body.classList.remove("locked");
    stopped = false;
    attempts = 0;
    setConnection("connecting");
    connect();
  });

  window.addEventListener("online", reconnectSoon);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      reconnectSoon();
      scheduleRender();
    }
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) reconnectSoon(); // back from the bfcache, whose pagehide closed the socket
  });
  window.addEventListener("pagehide", () => {
    const ws = socket;
    socket = null;
    if (ws) ws.close(1000, "page closed");
  });

  // ---------------------------------------------------------------- formatting

  const INTEGER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
  const SI = ["", "k", "M", "G", "T", "P"];

  function finite(value) {
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  }

  function text(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : String(value);
  }

  // Three significant digits, with an SI suffix from 1000 up (tqdm-like).
  function short(x) {
    let i = 0;
    while (Math.abs(x) >= 999.5 && i < SI.length - 1) {
      x /= 1000;
      i += 1;
    }
    const abs = Math.abs(x);
    const digits = abs >= 99.95 ? 0 : abs >= 9.995 ? 1 : 2;
    return x.toFixed(digits) + SI[i];
  }

  function count(x) {
    if (Math.abs(x) >= 1e6) return short(x);
    if (Number.isInteger(x)) return INTEGER.format(x);
    return x.toFixed(Math.abs(x) >= 100 ? 1 : 2);
  }

  function rate(value, unit) {
    const r = finite(value);
    if (r === null || r <= 0) return "";
    return r >= 1 ? `${short(r)} ${unit}/s` : `${short(1 / r)} s/${unit}`;
  }

  function duration(seconds) {
    let s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400);
    if (d >= 2) return `${d}d ${Math.floor((s % 86400) / 3600)}h`;
    const h = Math.floor(s / 3600);
    s %= 3600;
    const mm = String(Math.floor(s / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function age(seconds) {
    return seconds >= 2 ? `${span(seconds)} ago` : "just now";
  }

  // A rough length of time in its largest unit: "12s", "3m", "5h", "2d".
  function span(seconds) {
    const s = Math.max(1, Math.floor(seconds) || 0);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m`;
    if (s < 86400) return `${Math.floor(s / 3600)}h`;
    return `${Math.floor(s / 86400)}d`;
  }

  function metaValue(value) {
    if (typeof value === "string") return value;
    try {
      return JSON.stringify(value);
    } catch (_) {
      return String(value);
    }
  }

  function firstMeta(meta, keys) {
    for (const key of keys) {
      if (Object.prototype.hasOwnProperty.call(meta, key) && meta[key] !== null && meta[key] !== "") return key;
    }
    return null;
  }

  // "n/total", or "n" for an unknown total (null). One scale for both numbers:
  // "803k/1.28M", not "803,442/1.28M".
  function amountText(n, total) {
    const big = Math.max(Math.abs(n), total === null ? 0 : total) >= 1e6;
    const fmt = big ? (x) => (Number.isInteger(x) && Math.abs(x) < 1000 ? String(x) : short(x)) : count;
    return total === null ? fmt(n) : `${fmt(n)}/${fmt(total)}`;
  }

  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

  // ---------------------------------------------------------------- group aggregates

  // A port of progressista/groups.py aggregate(), rule for rule, so a group row
  // shows what GET /groups answers for the same tasks (tests compare the two):
  // - counts: members per bucket (active, stale, lost, done, error);
  // - status: the worst member status (error > lost > stale > update > start > close);
  // - n/total/unit: summed over members whose total is known, when all share one unit
  //   (null for mixed units); progress n/total, or for mixed units the mean of the
  //   members' own fractions; null when no member has a total;
  // - rate: summed over running members (one unit only); eta: seconds left at that
  //   rate, only when every open member has a total; unknown_totals: members without one.
  const severity = (status) => {
    const i = SEVERITY.indexOf(status);
    return i < 0 ? SEVERITY.indexOf("update") : i;
  };
  const totalOf = (task) => {
    const total = finite(task.total);
    return total !== null && total > 0 ? total : null;
  };
  const clamp01 = (x) => Math.min(1, Math.max(0, x));
  const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

  function aggregate(members) {
    const counts = { active: 0, stale: 0, lost: 0, done: 0, error: 0 };
    let worst = null;
    let worstRank = -1;
    const units = new Set();
    const known = []; // [n, total] of the members whose total is known
    let openWithoutTotal = false;
    let updatedAt = null;
    for (const task of members) {
      const status = has(task, "status") ? task.status : "update";
      counts[has(BUCKET_OF, status) ? BUCKET_OF[status] : "active"] += 1;
      const rank = severity(status);
      if (rank > worstRank) { // the first of the worst, as Python's max() picks
        worst = status;
        worstRank = rank;
      }
      units.add(task.unit || "it");
      const total = totalOf(task);
      if (total !== null) known.push([finite(task.n) || 0, total]);
      else if (task.status !== "close" && task.status !== "error") openWithoutTotal = true;
      const updated = has(task, "updated_at") ? task.updated_at : 0;
      if (updatedAt === null || updated > updatedAt) updatedAt = updated;
    }
    const unit = units.size === 1 ? [...units][0] : null;
    let n = null;
    let total = null;
    let progress = null;
    let rate = null;
    let eta = null;
    if (known.length) {
      progress = known.reduce((sum, [done, whole]) => sum + clamp01(done / whole), 0) / known.length;
    }
    if (unit !== null) {
      if (known.length) {
        n = known.reduce((sum, [done]) => sum + done, 0);
        total = known.reduce((sum, [, whole]) => sum + whole, 0);
        progress = clamp01(n / total);
      }
      rate = 0;
      for (const task of members) {
        if (BUCKETS.active.includes(task.status)) rate += finite(task.rate) || 0;
      }
      if (n !== null && total !== null && rate > 0 && !openWithoutTotal) eta = Math.max(0, total - n) / rate;
    }
    return {
      members: members.length, counts, status: worst === null ? "close" : worst, n, total, unit, progress, rate, eta,
      unknown_totals: members.length - known.length, updated_at: updatedAt,
    };
  }

  // ---------------------------------------------------------------- views

  function el(tag, className, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  const views = new Map(); // task_id → card view
  const cardIds = new WeakMap(); // card element → task_id
  const groups = new Map(); // column + "\n" + prefix → group view
  const groupKeys = new WeakMap(); // group element → key
  const collapsed = loadCollapsed();

  // groups.group_of: the part before the first ":", when both sides are non-empty.
  function prefixOf(id) {
    const i = id.indexOf(":");
    return i > 0 && i < id.length - 1 ? id.slice(0, i) : null;
  }

  function createCard(id) {
    const root = el("article", "card");
    root.dataset.testid = "task-card";
    root.dataset.taskId = id;
    cardIds.set(root, id);
    const head = el("div", "card-head");
    const badge = el("span", "badge");
    badge.dataset.testid = "task-status";
    const title = el("h3", "card-title");
    title.dataset.testid = "task-title";
    const discard = el("button", "icon-btn discard", "×");
    discard.type = "button";
    discard.dataset.action = "discard";
    discard.dataset.testid = "discard";
    discard.title = "Discard this task";
    discard.setAttribute("aria-label", "Discard task");
    head.append(badge, title, discard);
    const idLine = el("div", "card-id");
    idLine.dataset.testid = "task-id";
    const bar = el("div", "bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    const fill = el("div", "bar-fill");
    bar.append(fill);
    const pct = el("span", "stat-pct");
    pct.dataset.testid = "task-percent";
    const barRow = el("div", "bar-row");
    barRow.append(bar, pct);
    const statsRow = el("div", "card-stats");
    const amount = el("span", "stat-count");
    amount.dataset.testid = "task-count";
    const speed = el("span", "stat-rate");
    speed.dataset.testid = "task-rate";
    const elapsed = el("span", "stat-elapsed");
    elapsed.dataset.testid = "task-elapsed";
    const eta = el("span", "stat-eta");
    eta.dataset.testid = "task-eta";
    statsRow.append(amount, speed, elapsed, eta);
    const extras = el("div", "card-extras");
    const postfix = el("div", "card-postfix");
    postfix.dataset.testid = "task-postfix";
    const chips = el("ul", "chips");
    chips.dataset.testid = "task-meta";
    extras.append(postfix, chips);
    const foot = el("div", "card-foot");
    const origin = el("span", "origin");
    origin.dataset.testid = "task-origin";
    const ageNode = el("span", "age");
    ageNode.dataset.testid = "task-age";
    foot.append(origin, ageNode);
    root.append(head, idLine, barRow, statsRow, extras, foot);
    return {
      id, el: root, badge, title, idLine, bar, fill, pct, amount, speed, elapsed, eta, extras, postfix, chips, origin,
      age: ageNode, prefix: prefixOf(id), task: null, search: "", searchMeta: "", cache: Object.create(null),
    };
  }

  // Write text only when it changed; empty text hides the node.
  function put(view, key, node, value) {
    if (view.cache[key] === value) return;
    view.cache[key] = value;
    node.textContent = value;
    node.hidden = value === "";
  }

  function updateCard(view, task) {
    const status = Object.prototype.hasOwnProperty.call(STATUS_LABEL, task.status) ? task.status : "update";
    if (view.cache.status !== status) {
      view.cache.status = status;
      view.el.dataset.status = status;
      view.badge.textContent = STATUS_LABEL[status];
      // "Running" is what the Active column says already; Needs Attention holds two kinds, so they are named.
      view.badge.hidden = status === "update";
    }
    const desc = text(task.desc);
    put(view, "title", view.title, desc || view.id);
    if (view.cache.tip !== (desc || view.id)) {
      view.cache.tip = desc || view.id;
      view.title.title = view.cache.tip;
    }
    put(view, "idLine", view.idLine, desc && desc !== view.id ? view.id : "");

    const n = finite(task.n) ?? 0;
    const total = finite(task.total);
    const known = total !== null && total > 0;
    const fraction = known ? Math.min(1, Math.max(0, n / total)) : null;
    if (view.cache.fraction !== fraction) {
      view.cache.fraction = fraction;
      view.bar.classList.toggle("bar-indeterminate", fraction === null);
      if (fraction === null) {
        view.fill.style.transform = "";
        view.bar.removeAttribute("aria-valuenow");
      } else {
        view.fill.style.transform = `scaleX(${fraction})`;
        view.bar.setAttribute("aria-valuenow", String(Math.floor(fraction * 100)));
      }
    }
    const unit = text(task.unit) || "it";
    put(view, "pct", view.pct, known ? `${Math.floor(fraction * 100)}%` : "");
    put(view, "amount", view.amount, `${amountText(n, known ? total : null)} ${unit}`);
    const r = finite(task.rate);
    put(view, "speed", view.speed, rate(r, unit));
    const spent = finite(task.elapsed);
    put(view, "elapsed", view.elapsed, spent === null ? "" : `${duration(spent)} elapsed`);
    const running = status === "start" || status === "update";
    const left = known && running && r !== null && r > 0 && n < total ? (total - n) / r : null;
    put(view, "eta", view.eta, left === null ? "" : `ETA ${duration(left)}`);
    put(view, "postfix", view.postfix, text(task.postfix));

    const meta = isTask(task.meta) ? task.meta : {};
    const metaJson = metaValue(meta);
    if (view.cache.meta !== metaJson || view.cache.host !== task.host || view.cache.pid !== task.pid) {
      view.cache.meta = metaJson;
      view.cache.host = task.host;
      view.cache.pid = task.pid;
      renderMeta(view, task, meta);
    }
    const noExtras = view.postfix.hidden && view.chips.hidden;
    if (view.cache.noExtras !== noExtras) {
      view.cache.noExtras = noExtras;
      view.extras.hidden = noExtras;
    }
    const search = `${view.id}\n${desc}\n${view.searchMeta}`.toLowerCase();
    if (view.search !== search) view.search = search;
    view.task = task;
    tickAge(view, serverNow());
  }

  function renderMeta(view, task, meta) {
    const hostKey = text(task.host) ? null : firstMeta(meta, HOST_KEYS);
    const jobKey = firstMeta(meta, JOB_KEYS);
    const host = text(task.host) || (hostKey ? metaValue(meta[hostKey]) : "");
    const parts = [];
    if (host) parts.push(host);
    if (finite(task.pid) !== null) parts.push(`pid ${task.pid}`);
    if (jobKey) parts.push(`${jobKey.replace(/_id$/, "")} ${metaValue(meta[jobKey])}`);
    const origin = clip(parts.join(" · "), 120);
    put(view, "origin", view.origin, origin);
    view.origin.title = origin;

    const keys = Object.keys(meta);
    const shown = keys.filter((key) => key !== hostKey && key !== jobKey);
    const chips = shown.slice(0, 12).map((key) => {
      const value = metaValue(meta[key]);
      const chip = el("li", "chip");
      chip.title = `${key}: ${clip(value, 2000)}`;
      chip.append(el("span", "chip-key", clip(key, 40)), el("span", "chip-value", clip(value, 80)));
      return chip;
    });
    if (shown.length > 12) chips.push(el("li", "chip chip-more", `+${shown.length - 12} more`));
    view.chips.replaceChildren(...chips);
    view.chips.hidden = chips.length === 0;
    view.searchMeta = [host, ...keys.map((key) => `${key} ${metaValue(meta[key])}`)].join("\n");
  }

  // Running and finished tasks say when they last changed; stale ones how long they
  // made no progress (updated_at); lost ones how long nothing was heard (seen_at).
  function tickAge(view, now) {
    const task = view.task;
    const updated = finite(task.updated_at);
    let label;
    if (task.status === "lost") {
      const seen = finite(task.seen_at) ?? updated;
      label = seen === null ? "no contact" : `no contact for ${span(now - seen)}`;
    } else if (task.status === "stale") {
      label = updated === null ? "no progress" : `no progress for ${span(now - updated)}`;
    } else {
      label = updated === null ? "" : age(now - updated);
    }
    if (view.cache.age !== label) {
      view.cache.age = label;
      view.age.textContent = label;
    }
  }

  // A group row: the whole group's aggregate (every member, whatever its column or
  // the filter), with this column's member cards under it.
  function createGroup(key, prefix) {
    const root = el("section", "group");
    root.dataset.testid = "group";
    root.dataset.group = prefix;
    groupKeys.set(root, key);
    const head = el("button", "group-head");
    head.type = "button";
    head.dataset.action = "toggle-group";
    head.dataset.testid = "group-toggle";
    const labelled = (tag, className, testid) => {
      const node = el(tag, className);
      node.dataset.testid = testid;
      return node;
    };

    const top = el("span", "group-top");
    const chevron = el("span", "chevron");
    chevron.setAttribute("aria-hidden", "true");
    const name = el("span", "group-name", prefix);
    name.title = prefix;
    const size = labelled("span", "group-count", "group-count");
    const badge = labelled("span", "badge group-badge", "group-status");
    top.append(chevron, name, size, badge);

    const barRow = el("span", "group-bar-row");
    const bar = el("span", "group-bar");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-label", `${prefix}: progress of the group`);
    const fill = el("span", "group-bar-fill");
    bar.append(fill);
    const pct = labelled("span", "group-pct", "group-percent");
    barRow.append(bar, pct);

    const statsRow = el("span", "group-stats");
    const amount = labelled("span", "group-amount", "group-amount");
    const speed = labelled("span", "group-rate", "group-rate");
    const eta = labelled("span", "group-eta", "group-eta");
    const unknown = labelled("span", "group-unknown", "group-unknown");
    const tally = labelled("span", "group-tally", "group-tally");
    const buckets = {};
    for (const bucket of Object.keys(BUCKETS)) {
      const pill = el("span", "tally");
      pill.dataset.bucket = bucket;
      pill.dataset.testid = "group-" + bucket;
      buckets[bucket] = pill;
      tally.append(pill);
    }
    statsRow.append(amount, speed, eta, unknown, tally);

    head.append(top, barRow, statsRow);
    const body = el("div", "group-body");
    root.append(head, body);
    return {
      key, el: root, head, size, badge, barRow, bar, fill, pct, amount, speed, eta, unknown, buckets,
      body, cache: Object.create(null),
    };
  }

  function updateGroup(group, agg, here, isCollapsed) {
    const status = has(STATUS_LABEL, agg.status) ? agg.status : "update";
    if (group.cache.status !== status) {
      group.cache.status = status;
      group.el.dataset.status = status;
    }
    put(group, "badge", group.badge, status === "update" ? "" : STATUS_LABEL[status]);
    const whole = agg.members === 1 ? "1 task" : `${agg.members} tasks`;
    put(group, "size", group.size, here === agg.members ? whole : `${here} of ${agg.members} tasks`);
    const tip = here === agg.members ? "" : `${here} of this group's ${agg.members} tasks are in this column; `
      + "the figures cover the whole group";
    if (group.cache.tip !== tip) {
      group.cache.tip = tip;
      group.size.title = tip;
    }

    const fraction = agg.progress;
    if (group.cache.fraction !== fraction) {
      group.cache.fraction = fraction;
      group.barRow.hidden = fraction === null;
      if (fraction !== null) {
        group.fill.style.transform = `scaleX(${fraction})`;
        group.bar.setAttribute("aria-valuenow", String(Math.floor(fraction * 100)));
      }
    }
    put(group, "pct", group.pct, fraction === null ? "" : `${Math.floor(fraction * 100)}%`);
    let amount = "";
    if (agg.unit === null) amount = "mixed units";
    else if (agg.n !== null && agg.total !== null) amount = `${amountText(agg.n, agg.total)} ${agg.unit}`;
    put(group, "amount", group.amount, amount);
    put(group, "speed", group.speed, agg.unit === null ? "" : rate(agg.rate, agg.unit));
    put(group, "eta", group.eta, agg.eta === null ? "" : `ETA ${duration(agg.eta)}`);
    put(group, "unknown", group.unknown, agg.unknown_totals ? `${agg.unknown_totals} without total` : "");
    for (const [bucket, pill] of Object.entries(group.buckets)) {
      const k = agg.counts[bucket];
      put(group, "n-" + bucket, pill, k ? `${k} ${bucket}` : "");
    }

    if (group.cache.collapsed !== isCollapsed) {
      group.cache.collapsed = isCollapsed;
      group.el.classList.toggle("collapsed", isCollapsed);
      group.head.setAttribute("aria-expanded", String(!isCollapsed));
      group.head.title = isCollapsed ? "Show these tasks" : "Hide these tasks";
    }
  }

  // Make parent's children exactly `nodes`, in order, moving as few as possible.
  function reconcile(parent, nodes) {
    let cursor = parent.firstChild;
    for (const node of nodes) {
      if (node === cursor) cursor = cursor.nextSibling;
      else parent.insertBefore(node, cursor);
    }
    while (cursor) {
      const next = cursor.nextSibling;
      parent.removeChild(cursor);
      cursor = next;
    }
  }

  // ---------------------------------------------------------------- filter, grouping, layout

  let filterTerms = [];

  function matches(view) {
    for (const term of filterTerms) {
      if (!view.search.includes(term)) return false;
    }
    return true;
  }

  const newestFirst = (a, b) => b.updated - a.updated || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  // A group shared by tasks in several columns gets a row in each of them, every
  // row showing the whole group's aggregate (so the same figures as GET /groups
  // wherever you look, and a failure elsewhere colours the row beside the running
  // members), while each member card stays in the column of its own status.
  function layout() {
    const shared = new Map(); // prefix → member tasks, across all columns and regardless of the filter
    for (const view of views.values()) {
      if (!view.prefix) continue;
      const members = shared.get(view.prefix);
      if (members) members.push(view.task);
      else shared.set(view.prefix, [view.task]);
    }
    const items = { active: [], stale: [], completed: [] };
    const columnGroups = { active: new Map(), stale: new Map(), completed: new Map() };
    const here = { active: new Map(), stale: new Map(), completed: new Map() }; // prefix → members in the column
    const totals = { active: 0, stale: 0, completed: 0 };
    const shown = { active: 0, stale: 0, completed: 0 };
    let lost = 0;
    for (const view of views.values()) {
      const column = COLUMN_OF[view.task.status] || "active";
      totals[column] += 1;
      if (view.task.status === "lost") lost += 1;
      const grouped = view.prefix && shared.get(view.prefix).length > 1;
      if (grouped) here[column].set(view.prefix, (here[column].get(view.prefix) || 0) + 1);
      if (!matches(view)) continue;
      shown[column] += 1;
      const updated = finite(view.task.updated_at) ?? 0;
      if (grouped) {
        let entry = columnGroups[column].get(view.prefix);
        if (!entry) {
          entry = { id: view.prefix, updated, members: [] };
          columnGroups[column].set(view.prefix, entry);
          items[column].push(entry);
        }
        entry.members.push({ id: view.id, updated, view });
        if (updated > entry.updated) entry.updated = updated;
      } else {
        items[column].push({ id: view.id, updated, view });
      }
    }
    const live = new Set();
    const aggregates = new Map(); // prefix → aggregate, computed once for all its rows
    for (const column of COLUMNS) {
      const nodes = [];
      items[column].sort(newestFirst);
      for (const item of items[column]) {
        if (!item.members) {
          nodes.push(item.view.el);
          continue;
        }
        const key = column + "\n" + item.id;
        live.add(key);
        let group = groups.get(key);
        if (!group) {
          group = createGroup(key, item.id);
          groups.set(key, group);
        }
        item.members.sort(newestFirst);
        const members = item.members.map((m) => m.view);
        const isCollapsed = collapsed.has(key);
        let agg = aggregates.get(item.id);
        if (!agg) {
          agg = aggregate(shared.get(item.id));
          aggregates.set(item.id, agg);
        }
        updateGroup(group, agg, here[column].get(item.id), isCollapsed);
        // Collapsed groups keep their cards detached: nothing to lay out.
        reconcile(group.body, isCollapsed ? [] : members.map((v) => v.el));
        nodes.push(group.el);
      }
      const target = ui.columns[column];
      reconcile(target.body, nodes);
      const label = filterTerms.length && shown[column] !== totals[column]
        ? `${shown[column]} of ${totals[column]}` : String(shown[column]);
      for (const node of target.counts) {
        if (node.textContent !== label) node.textContent = label;
      }
      target.section.dataset.total = String(totals[column]);
      target.empty.hidden = shown[column] > 0;
      target.empty.textContent = filterTerms.length && totals[column]
        ? target.empty.dataset.emptyFiltered : target.empty.dataset.empty;
    }
    for (const key of groups.keys()) {
      if (!live.has(key)) groups.delete(key);
    }
    ui.clearStale.disabled = totals.stale === 0 || busy.has(ui.clearStale);
    ui.clearCompleted.disabled = totals.completed === 0 || busy.has(ui.clearCompleted);
    counts = { ...totals, lost };
    updateTitle();
  }

  let counts = { active: 0, stale: 0, completed: 0, lost: 0 };

  function updateTitle() {
    const parts = [];
    if (counts.active) parts.push(`${counts.active} active`);
    if (counts.stale - counts.lost) parts.push(`${counts.stale - counts.lost} stale`);
    if (counts.lost) parts.push(`${counts.lost} lost`);
    const lead = connectionState === "disconnected" ? "⚠ " : "";
    const title = lead + (parts.length ? `${parts.join(", ")} · Progressista` : "Progressista");
    if (document.title !== title) document.title = title;
  }

  // ---------------------------------------------------------------- rendering

  // Read by the tests and handy in the console; never holds task data.
  const stats = { renders: 0, lastRenderMs: 0, maxRenderMs: 0, snapshotAt: null, firstRenderMs: null };
  window.progressistaDashboard = { stats };

  let renderQueued = false;
  let lastRender = -Infinity;

  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    const wait = lastRender + RENDER_INTERVAL_MS - performance.now();
    const frame = () => requestAnimationFrame(render);
    if (wait > 0) setTimeout(frame, wait);
    else frame();
  }

  function render() {
    renderQueued = false;
    const started = performance.now();
    lastRender = started;
    for (const id of dirty) {
      const task = tasks.get(id);
      let view = views.get(id);
      if (!task) {
        if (view) {
          view.el.remove();
          views.delete(id);
          structureDirty = true;
        }
        continue;
      }
      if (!view) {
        view = createCard(id);
        views.set(id, view);
        structureDirty = true;
      }
      const before = view.task;
      if (before === task) continue;
      updateCard(view, task);
      // A member's change moves its group's aggregate, which layout() recomputes.
      if (!before || before.updated_at !== task.updated_at || before.status !== task.status || view.prefix) {
        structureDirty = true;
      }
    }
    dirty.clear();
    if (structureDirty) {
      structureDirty = false;
      layout();
    }
    const took = performance.now() - started;
    stats.renders += 1;
    stats.lastRenderMs = took;
    stats.maxRenderMs = Math.max(stats.maxRenderMs, took);
    if (stats.firstRenderMs === null && stats.snapshotAt !== null) {
      stats.firstRenderMs = performance.now() - stats.snapshotAt;
    }
  }

  setInterval(() => {
    if (document.hidden) return;
    const now = serverNow();
    for (const view of views.values()) tickAge(view, now);
  }, AGE_TICK_MS);

  // ---------------------------------------------------------------- actions

  const busy = new Set();

  async function discard(id) {
    const view = views.get(id);
    if (view) view.el.classList.add("card-busy");
    try {
      // The query form names any id, even "." and "..", which a URL path cannot hold;
      // an id already gone on the server is simply not in "removed".
      await api("DELETE", "tasks?task_id=" + encodeURIComponent(id));
      forget(id);
    } catch (err) {
      if (view) view.el.classList.remove("card-busy");
      showMessage(`Could not discard “${clip(id, 80)}”: ${describeFailure(err)}`);
    }
  }

  async function clearStatus(button, status, label) {
    busy.add(button);
    button.disabled = true;
    try {
      const body = await api("DELETE", "tasks?status=" + status);
      const removed = body && Array.isArray(body.removed) ? body.removed : [];
      for (const id of removed) forget(String(id));
      showMessage(`Removed ${removed.length} ${label} task${removed.length === 1 ? "" : "s"}.`, "info", 4000);
    } catch (err) {
      showMessage(`Could not clear ${label} tasks: ${describeFailure(err)}`);
    } finally {
      busy.delete(button);
      structureDirty = true;
      scheduleRender();
    }
  }

  // Clears the whole Needs Attention column: "attention" is the server's name for stale + lost.
  ui.clearStale.addEventListener("click", () => clearStatus(ui.clearStale, "attention", "stale or lost"));
  ui.clearCompleted.addEventListener("click", () => clearStatus(ui.clearCompleted, "completed", "completed"));

  ui.board.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-action]") : null;
    if (!target) return;
    if (target.dataset.action === "discard") {
      const card = target.closest(".card");
      const id = card ? cardIds.get(card) : undefined;
      if (id !== undefined) discard(id);
    } else if (target.dataset.action === "toggle-group") {
      const key = groupKeys.get(target.closest(".group"));
      if (key === undefined) return;
      if (collapsed.has(key)) collapsed.delete(key);
      else collapsed.add(key);
      saveCollapsed();
      structureDirty = true;
      scheduleRender();
    }
  });

  function loadCollapsed() {
    try {
      const saved = JSON.parse(localStorage.getItem(COLLAPSED_KEY) || "[]");
      return new Set(Array.isArray(saved) ? saved.filter((k) => typeof k === "string") : []);
    } catch (_) {
      return new Set();
    }
  }

  function saveCollapsed() {
    try {
      localStorage.setItem(COLLAPSED_KEY, JSON.stringify([...collapsed].slice(-200)));
    } catch (_) { /* storage may be disabled or full */ }
  }

  ui.filter.addEventListener("input", () => {
    filterTerms = ui.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    structureDirty = true;
    scheduleRender();
  });
  ui.filter.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && ui.filter.value) {
      ui.filter.value = "";
      ui.filter.dispatchEvent(new Event("input"));
    }
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof Element && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      ui.filter.focus();
    }
  });

  // Narrow screens show one column at a time.
  ui.tabs.addEventListener("click", (event) => {
    const tab = event.target instanceof Element ? event.target.closest(".tab") : null;
    if (!tab) return;
    ui.board.dataset.view = tab.dataset.view;
    for (const other of ui.tabs.querySelectorAll(".tab")) {
      other.setAttribute("aria-pressed", String(other === tab));
    }
  });

  // ---------------------------------------------------------------- go

  setConnection("connecting");
  scheduleRender();
  connect();
})();
