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
 * the server clock), `auth.js` (the token), `access.js` (what the token may
 * do: read-only mode), `store.js` (tasks and groups), `cards.js`, `groups.js`
 * (group rows), `board.js` (columns, layout), `windowing.js` (a long column
 * draws only the cards in view), `messages.js` (toasts),
 * `confirm.js` (asking before a bulk clear), `undo.js` (a discard's way back),
 * `links.js` (`#task=ID`), `history.js` (`#history=KEY`: past runs), `address.js` (the filter as `?q=`), `notify.js`
 * (desktop notifications of failed and lost tasks), `dom.js`, `text.js`
 * (helpers); this one wires them to the page.
 *
 * Exports nothing; `window.progressistaDashboard.stats` holds render timings
 * for the tests and the console (never task data).
 *
 * @module main
 */

import { canAdmin, checkAccess } from "./access.js";
import { filterInAddress, keepFilter } from "./address.js";
import { describeFailure, feedUrl, request, serverNow, syncClock } from "./api.js";
import { onTokenEntered, showRefusal } from "./auth.js";
import {
  counts, elementOf, layout, reveal, setFilter, tickAges, toggleRow, unfoldFor, updateCards, updateRows, views,
} from "./board.js";
import { confirmRemoval } from "./confirm.js";
import { clip } from "./dom.js";
import { Feed } from "./feed.js";
import { probeHistory } from "./history.js";
import { found, highlight, onLink, wantedTask } from "./links.js";
import { showAction, showMessage } from "./messages.js";
import { notice } from "./notify.js";
import { columnOf } from "./protocol.js";
import { apply, clear, dirtyGroups, dirtyTasks, forget, tasks } from "./store.js";
import { shownId } from "./text.js";
import { eventOf } from "./undo.js";

const RENDER_INTERVAL_MS = 200; // at most five renders per second
const AGE_TICK_MS = 1000;
const UNDO_MS = 8000; // how long a discard can be undone
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
let everConnected = false;

const feed = new Feed({
  url: feedUrl,
  onUpdate(update) {
    notice(update, tasks); // before the store forgets each task's previous status
    apply(update);
    if (update.removed === null) stats.snapshotAt = performance.now();
    scheduleRender();
  },
  onState(state) {
    if (state === "connected" && connectionState !== "connected") {
      syncClock();
      probeHistory(); // cards link to their History view only when the server keeps one
      if (everConnected) checkAccess(); // back after a drop: the server may have restarted with other tokens
      everConnected = true;
    }
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
  // Failed tasks lead, so a narrow tab still shows them: "(3 failed) 12 active · Progressista".
  const lead = (connectionState === "disconnected" ? "⚠ " : "") + (counts.failed ? `(${counts.failed} failed) ` : "");
  const title = lead + (parts.length ? `${parts.join(", ")} · Progressista` : "Progressista");
  if (document.title !== title) document.title = title;
}

onTokenEntered(() => {
  checkAccess(); // a new token, maybe of another role
  feed.resume();
});
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
    if (!tabChosen && stats.snapshotAt !== null) showColumn(openingColumn());
    ui.clearStale.disabled = counts.stale === 0 || busy.has(ui.clearStale);
    ui.clearCompleted.disabled = counts.completed === 0 || busy.has(ui.clearCompleted);
    updateTitle();
  }
  if (wantedTask() !== null) showLinked();
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
  const task = tasks.get(id);
  if (view && view.el) view.el.classList.add("card-busy");
  try {
    // The query form names any id, even "." and "..", which a URL path cannot hold;
    // an id already gone on the server is simply not in "removed".
    await request("DELETE", "tasks?task_id=" + encodeURIComponent(id));
    forgetNow(id);
    if (task) showAction(`Discarded “${clip(shownId(id), 80)}”`, "Undo", () => undo(id, task), UNDO_MS);
  } catch (err) {
    if (view && view.el) view.el.classList.remove("card-busy");
    showMessage(`Could not discard “${clip(id, 80)}”: ${describeFailure(err)}`);
  }
}

// Bring a discarded task back as it was, unless it came back by itself (its bar posted again).
async function undo(id, task) {
  if (tasks.has(id)) return;
  try {
    await request("POST", "progress", eventOf(id, task));
  } catch (err) {
    showMessage(`Could not bring back “${clip(shownId(id), 80)}”: ${describeFailure(err)}`);
  }
}

async function clearStatus(button, status, label) {
  // The count the page shows; the server removes whatever has that status when asked.
  const known = status === "completed" ? counts.completed : counts.stale;
  const question = `Remove ${known} ${label} task${known === 1 ? "" : "s"}?`;
  const why = `This removes ${known === 1 ? "it" : "them"} for everyone watching this server.`;
  if (!(await confirmRemoval(question, why))) return;
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
    const card = canAdmin() ? target.closest(".card") : null;
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
  keepFilter(ui.filter.value);
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
let tabChosen = false; // by a click or a #task= link; until then the first snapshot picks it

function showColumn(name) {
  tabChosen = true;
  ui.board.dataset.view = name;
  for (const tab of ui.tabs.querySelectorAll(".tab")) {
    tab.setAttribute("aria-pressed", String(tab.dataset.view === name));
  }
}

// The column to open on: Active, unless it shows nothing and another needs a look
// (stale or lost tasks; failed ones, or what the filter asks for, in Completed).
function openingColumn() {
  const { shown } = counts;
  if (shown.active > 0) return "active";
  if (shown.stale > 0) return "stale";
  if (shown.completed > 0 && (counts.failed > 0 || ui.filter.value.trim())) return "completed";
  return "active";
}

ui.tabs.addEventListener("click", (event) => {
  const tab = event.target instanceof Element ? event.target.closest(".tab") : null;
  if (tab) showColumn(tab.dataset.view);
});

// ---------------------------------------------------------------- #task=ID links

// Once the linked task is on the page: unfold its row or drop the filter if they hide it, then light it.
function showLinked() {
  const id = wantedTask();
  if (!views.has(id)) return; // not here yet: the next render looks again
  const column = columnOf(tasks.get(id)?.status);
  // A long column draws only what is in view: it scrolls to the card (its tab shown first) and draws it.
  const target = elementOf(id) ?? reveal(id, () => showColumn(column));
  if (target) {
    showColumn(column);
    highlight(target);
    return;
  }
  let changed = unfoldFor(id);
  if (ui.filter.value) {
    ui.filter.value = "";
    setFilter("");
    keepFilter("");
    changed = true;
  }
  if (!changed) {
    found(); // on the page yet drawn nowhere: nothing to show
    return;
  }
  relayout = true;
  scheduleRender();
}

onLink(scheduleRender);

// ---------------------------------------------------------------- go

ui.filter.value = filterInAddress(); // ?q=, from a reload or a shared link
setFilter(ui.filter.value);
setConnection("connecting");
checkAccess();
scheduleRender();
feed.connect();
