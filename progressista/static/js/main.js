/**
 * The dashboard page: live task columns fed by `/ws?mode=delta`. Native ES
 * modules, no build step, nothing fetched but this server.
 *
 * Messages only update the store (`store.js`) and mark what changed; the DOM
 * is patched in place at most every RENDER_INTERVAL_MS, inside
 * requestAnimationFrame, so thousands of live bars stay smooth.
 *
 * Modules: `protocol.js` (statuses, columns, buckets), `format.js` (every
 * number, as protocol/format.py), `feed.js` (the socket), `api.js` (REST and
 * the server clock), `auth.js` (the token), `store.js` (tasks and groups),
 * `cards.js`, `groups.js` (group rows), `board.js` (columns, layout),
 * `messages.js` (toasts), `dom.js` (helpers); this one wires them to the page.
 *
 * Exports nothing; `window.progressistaDashboard.stats` holds render timings
 * for the tests and the console (never task data).
 *
 * @module main
 */

import { describeFailure, feedUrl, request, serverNow, syncClock } from "./api.js";
import { onTokenEntered, showRefusal } from "./auth.js";
import { counts, layout, setFilter, tickAges, toggleRow, updateCards, updateRows, views } from "./board.js";
import { clip } from "./dom.js";
import { Feed } from "./feed.js";
import { showMessage } from "./messages.js";
import { apply, clear, dirtyGroups, dirtyTasks, forget } from "./store.js";

const RENDER_INTERVAL_MS = 200; // at most five renders per second
const AGE_TICK_MS = 1000;
const CONNECTION_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  disconnected: "Disconnected — retrying…",
  unauthorized: "Unauthorized",
  refused: "Refused",
};

const $ = (id) => document.getElementById(id);
const ui = {
  board: $("board"), connection: $("connection"), filter: $("filter"), tabs: $("tabs"),
  clearStale: $("clear-stale"), clearCompleted: $("clear-completed"),
};

// ---------------------------------------------------------------- connection

let connectionState = "connecting";

const feed = new Feed({
  url: feedUrl,
  onUpdate(update) {
    apply(update);
    if (update.removed === null) stats.snapshotAt = performance.now();
    scheduleRender();
  },
  onState(state) {
    if (state === "connected" && connectionState !== "connected") syncClock();
    setConnection(state);
  },
  onRefused(reason) {
    setConnection(showRefusal(reason) ? "unauthorized" : "refused");
    clear();
    relayout = true;
    scheduleRender();
  },
});

function setConnection(state) {
  connectionState = state;
  ui.connection.dataset.state = state;
  ui.connection.textContent = CONNECTION_TEXT[state];
  ui.board.classList.toggle("board-offline", state === "disconnected");
  updateTitle();
}

function updateTitle() {
  const parts = [];
  if (counts.active) parts.push(`${counts.active} active`);
  if (counts.stale - counts.lost) parts.push(`${counts.stale - counts.lost} stale`);
  if (counts.lost) parts.push(`${counts.lost} lost`);
  const lead = connectionState === "disconnected" ? "⚠ " : "";
  const title = lead + (parts.length ? `${parts.join(", ")} · Progressista` : "Progressista");
  if (document.title !== title) document.title = title;
}

onTokenEntered(() => feed.resume());
window.addEventListener("online", () => feed.reconnectSoon());
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    feed.reconnectSoon();
    scheduleRender();
  }
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) feed.reconnectSoon(); // back from the bfcache, whose pagehide closed the socket
});
window.addEventListener("pagehide", () => feed.close());

// ---------------------------------------------------------------- rendering

const stats = { renders: 0, lastRenderMs: 0, maxRenderMs: 0, snapshotAt: null, firstRenderMs: null };
window.progressistaDashboard = { stats };

let relayout = true; // order, columns, groups or the filter changed
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
  if (updateCards(dirtyTasks, serverNow())) relayout = true;
  dirtyTasks.clear();
  if (!relayout && dirtyGroups.size && updateRows(dirtyGroups)) relayout = true;
  dirtyGroups.clear();
  if (relayout) {
    relayout = false;
    layout();
    ui.clearStale.disabled = counts.stale === 0 || busy.has(ui.clearStale);
    ui.clearCompleted.disabled = counts.completed === 0 || busy.has(ui.clearCompleted);
    updateTitle();
  }
  const took = performance.now() - started;
  stats.renders += 1;
  stats.lastRenderMs = took;
  stats.maxRenderMs = Math.max(stats.maxRenderMs, took);
  if (stats.firstRenderMs === null && stats.snapshotAt !== null) stats.firstRenderMs = performance.now() - stats.snapshotAt;
}

setInterval(() => {
  if (!document.hidden) tickAges(serverNow());
}, AGE_TICK_MS);

// ---------------------------------------------------------------- actions

const busy = new Set(); // buttons whose request is under way

function forgetNow(id) {
  if (forget(id)) scheduleRender();
}

async function discard(id) {
  const view = views.get(id);
  if (view) view.el.classList.add("card-busy");
  try {
    // The query form names any id, even "." and "..", which a URL path cannot hold;
    // an id already gone on the server is simply not in "removed".
    await request("DELETE", "tasks?task_id=" + encodeURIComponent(id));
    forgetNow(id);
  } catch (err) {
    if (view) view.el.classList.remove("card-busy");
    showMessage(`Could not discard “${clip(id, 80)}”: ${describeFailure(err)}`);
  }
}

async function clearStatus(button, status, label) {
  busy.add(button);
  button.disabled = true;
  try {
    const body = await request("DELETE", "tasks?status=" + status);
    const removed = body && Array.isArray(body.removed) ? body.removed : [];
    for (const id of removed) forgetNow(String(id));
    showMessage(`Removed ${removed.length} ${label} task${removed.length === 1 ? "" : "s"}.`, "info", 4000);
  } catch (err) {
    showMessage(`Could not clear ${label} tasks: ${describeFailure(err)}`);
  } finally {
    busy.delete(button);
    relayout = true;
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
    if (card) discard(card.dataset.taskId);
  } else if (target.dataset.action === "toggle-group") {
    const row = target.closest(".group");
    if (!row) return;
    toggleRow(row.dataset.key);
    relayout = true;
    scheduleRender();
  }
});

// ---------------------------------------------------------------- filter, keys, tabs

ui.filter.addEventListener("input", () => {
  setFilter(ui.filter.value);
  relayout = true;
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
  for (const other of ui.tabs.querySelectorAll(".tab")) other.setAttribute("aria-pressed", String(other === tab));
});

// ---------------------------------------------------------------- go

setConnection("connecting");
scheduleRender();
feed.connect();
