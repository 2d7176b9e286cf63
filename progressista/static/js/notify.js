/**
 * Desktop notifications (the browser's Notification API) when a task enters
 * `error` or `lost` while the page watches: a delta names the task in that
 * state and the page knew it in another one (or not at all). Never for a task
 * a snapshot shows in that state (the page loading, a resync after a drop),
 * and at most once per task and state for the life of the page, so a discard
 * undone or a task re-posted as it was does not ring again.
 *
 * Off until the header's "Notify me" button turns it on (the browser asks for
 * permission then); the choice is remembered in localStorage. A browser that
 * blocks them makes the button say so, and it stays off.
 *
 * Notifications wait BURST_MS, so a burst (more than BURST_LIMIT at once, a
 * whole group failing) is one summary, "7 tasks failed", instead of a flood.
 * Clicking one focuses the page and opens the task's `#task=ID` link (`links.js`).
 *
 * @module notify
 */

import { clip, isObject } from "./dom.js";
import { taskLink } from "./links.js";
import { reasonOf } from "./protocol.js";
import { shownId, shownText } from "./text.js";

const STORAGE_KEY = "progressista.notify";
const ALERTING = new Set(["error", "lost"]);
const BURST_MS = 1000;
const BURST_LIMIT = 5; // more than this within BURST_MS: one summary
const SUMMARY_NAMES = 3; // ids a summary names
const SEEN_LIMIT = 20000; // (task, state) pairs remembered, oldest forgotten first
const LOST_REASON = "No contact from its process";
const BUTTON = {
  off: ["Notify me", "Show a desktop notification when a task fails or is lost"],
  on: ["Notifications on", "Desktop notifications are on for failed and lost tasks: click to turn them off"],
  blocked: ["Notifications blocked",
    "This browser blocks notifications from this page: allow them in the site settings, then click here"],
  unavailable: ["Notifications unavailable",
    "This browser offers no desktop notifications here (they need HTTPS, or localhost)"],
};

const button = document.getElementById("notify");
const seen = new Set(); // state + "\n" + id: shown by a snapshot in that state, or entered it already
let wanted = loadChoice();
let refused = false; // the browser's last answer was "denied" (a dismissed prompt can leave permission "default")
let pending = [];
let timer = 0;

const api = () => (typeof window.Notification === "function" ? window.Notification : null);

/**
 * What the button shows: "on", "off", "blocked" (the browser said no) or "unavailable".
 * @returns {string}
 */
function state() {
  const Notification = api();
  if (!Notification) return "unavailable";
  const permission = Notification.permission;
  if (permission === "denied" || (refused && permission !== "granted")) return "blocked";
  return wanted && permission === "granted" ? "on" : "off";
}

function refresh() {
  const now = state();
  const [text, title] = BUTTON[now];
  button.dataset.state = now;
  if (button.textContent !== text) button.textContent = text;
  button.title = title;
  button.setAttribute("aria-pressed", String(now === "on"));
  button.disabled = now === "unavailable";
}

function loadChoice() {
  try {
    return localStorage.getItem(STORAGE_KEY) === "on";
  } catch (_) {
    return false; // storage disabled: off, as for a first visit
  }
}

function saveChoice(on) {
  wanted = on;
  try {
    localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
  } catch (_) { /* storage may be disabled or full: on for this page only */ }
}

async function askPermission(Notification) {
  try {
    const asked = Notification.requestPermission();
    // Old Safari answers through a callback only, and returns nothing: read the outcome instead.
    return asked && typeof asked.then === "function" ? await asked : Notification.permission;
  } catch (_) {
    return Notification.permission;
  }
}

button.addEventListener("click", async () => {
  const Notification = api();
  if (!Notification) return;
  if (state() === "on") {
    saveChoice(false);
  } else {
    // Asked even when blocked: the user may have allowed them since, and the browser answers at once.
    const permission = Notification.permission === "granted" ? "granted" : await askPermission(Notification);
    refused = permission === "denied";
    saveChoice(permission === "granted");
  }
  refresh();
});

// The user may allow or block them in the site settings while the page is open.
if (navigator.permissions && api()) {
  navigator.permissions.query({ name: "notifications" }).then((status) => {
    status.addEventListener("change", refresh);
  }, () => {});
}

function remember(key) {
  seen.add(key);
  if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value);
}

/**
 * Look at a feed message (as `feed.parseFeedMessage` reads it) before the store applies it.
 * @param {{tasks: object, removed: string[] | null}} update
 * @param {Map<string, object>} known  the tasks as the page knew them until now
 */
export function notice(update, known) {
  const snapshot = update.removed === null;
  for (const [id, task] of Object.entries(update.tasks)) {
    if (!isObject(task) || !ALERTING.has(task.status)) continue;
    const key = task.status + "\n" + id;
    if (seen.has(key)) continue;
    remember(key);
    if (snapshot || known.get(id)?.status === task.status) continue; // in that state already
    if (state() === "on") queue({ id, task, status: task.status });
  }
}

function queue(item) {
  pending.push(item);
  if (!timer) timer = setTimeout(flush, BURST_MS);
}

function flush() {
  timer = 0;
  const items = pending;
  pending = [];
  if (state() !== "on") { // turned off, or blocked, meanwhile
    refresh();
    return;
  }
  if (items.length > BURST_LIMIT) summarise(items);
  else for (const item of items) announce(item);
}

function announce({ id, task, status }) {
  const reason = reasonOf(task) || (status === "lost" ? LOST_REASON : "");
  const desc = typeof task.desc === "string" ? clip(shownText(task.desc), 200) : "";
  const body = [reason && shownText(reason), desc].filter(Boolean).join("\n");
  post(`${status}: ${clip(shownId(id), 120)}`, body, `progressista:${status}:${id}`, id);
}

function summarise(items) {
  const failed = items.filter((item) => item.status === "error").length;
  const what = failed === items.length ? "failed" : failed === 0 ? "were lost" : "failed or were lost";
  const names = items.slice(0, SUMMARY_NAMES).map((item) => clip(shownId(item.id), 60));
  const more = items.length - names.length;
  post(`${items.length} tasks ${what}`, names.join(", ") + (more ? ` and ${more} more` : ""), "progressista:summary", null);
}

function post(title, body, tag, id) {
  let note;
  try {
    note = new (api())(title, { body, tag });
  } catch (_) {
    return; // Chrome on Android wants a service worker for these: nothing to show there
  }
  note.addEventListener("click", () => {
    window.focus();
    if (id !== null) open(id);
    note.close();
  });
}

function open(id) {
  const link = taskLink(id);
  if (location.hash !== link) location.hash = link;
  else window.dispatchEvent(new HashChangeEvent("hashchange")); // the same link again: light the card again
}

refresh();
