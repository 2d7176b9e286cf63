/**
 * Task cards: one per task, keyed by task_id, built once and patched in place.
 *
 * Every figure is `taskFigures(task)` (format.js), each in its own
 * `data-testid` node (task-percent, task-count, task-rate, task-elapsed,
 * task-eta) holding exactly that text, so a card reads as the terminal does.
 * A failed task says why in task-reason (`reasonOf`, protocol.js: its
 * `meta.error`, else its `meta.signal`), clamped to a few lines, whole in its tooltip.
 * Every piece of task text (id, desc, unit, postfix, host, meta keys and values,
 * reason) is written as `shownId`/`shownText` (text.js) show it: a right-to-left
 * override or a zero-width space is a visible `<U+202E>`, as in the terminal.
 * A task whose key has history says `usual 12:23` (task-usual, its `usual_duration`)
 * after the ETA and, once `slowerThanUsual` (protocol.js) on the ticking clock,
 * `slower than usual` (task-slow); its History link opens `#history=KEY` (history.js).
 *
 * A view exists for every task (`newView`: what the board needs to sort and
 * filter it, `searchText`), its element only once it is drawn (`buildCard`):
 * a long column draws the cards in view only (windowing.js).
 *
 * @module cards
 */

import { clip, el, isObject, part, progressBar, put, setBar, text } from "./dom.js";
import { finite, formatAge, formatDuration, formatSince, fraction, taskFigures } from "./format.js";
import {
  groupOf, knownStatus, reasonOf, reasonText, slowerThanUsual, STATUS_LABELS, taskKey, USUAL_FIELD,
} from "./protocol.js";
import { shownId, shownText } from "./text.js";

// Meta keys shown in the card footer rather than as chips.
const HOST_KEYS = ["host", "hostname", "node"];
const JOB_KEYS = ["job_id", "job", "run_id", "run"];
const CHIP_LIMIT = 12;

/**
 * A card view: the task it stands for (`task`, the latest known) and, once
 * built, its element, its parts, and what it last showed (`shown`).
 * @typedef {{id: string, el: HTMLElement | null, prefix: string | null, task: object | null,
 *            shown: object | null, search: string, cache: object}} CardView
 */

/**
 * The view of task `id`, with no element yet (`buildCard` makes it).
 * @param {string} id
 * @returns {CardView}
 */
export const newView = (id) => ({
  id, el: null, prefix: groupOf(id), task: null, shown: null, search: "", cache: Object.create(null),
});

/**
 * Build the element of `view` (empty until `updateCard`).
 * @param {CardView} view
 * @returns {CardView}
 */
export function buildCard(view) {
  const id = view.id;
  const root = part("article", "card", "task-card");
  root.dataset.taskId = id;
  const head = el("div", "card-head");
  const badge = part("span", "badge", "task-status");
  const title = part("h3", "card-title clamped", "task-title");
  const discard = part("button", "icon-btn discard admin-only", "discard"); // hidden for read-only tokens
  discard.textContent = "×";
  discard.type = "button";
  discard.dataset.action = "discard";
  discard.title = "Discard this task";
  discard.setAttribute("aria-label", "Discard " + shownId(id)); // a screen reader names which task
  head.append(badge, title, discard);
  const idLine = part("div", "card-id", "task-id");
  const reason = part("div", "card-reason clamped", "task-reason");
  const [bar, fill] = progressBar("div", "bar");
  const pct = part("span", "stat-pct", "task-percent");
  const barRow = el("div", "bar-row");
  barRow.append(bar, pct);
  const figures = {
    percent: pct,
    amount: part("span", "stat-count", "task-count"),
    rate: part("span", "stat-rate", "task-rate"),
    elapsed: part("span", "stat-elapsed", "task-elapsed"),
    eta: part("span", "stat-eta", "task-eta"),
  };
  // History (history.css): how long its key usually takes, and whether this run is past 1.5× that.
  const usual = part("span", "stat-usual", "task-usual");
  const slow = part("span", "stat-slow", "task-slow");
  slow.hidden = true;
  const statsRow = el("div", "card-stats");
  statsRow.append(figures.amount, figures.rate, figures.elapsed, figures.eta, usual, slow);
  const extras = el("div", "card-extras");
  const postfix = part("div", "card-postfix", "task-postfix");
  const chips = part("ul", "chips", "task-meta");
  extras.append(postfix, chips);
  const foot = el("div", "card-foot");
  const origin = part("span", "origin", "task-origin");
  const age = part("span", "age", "task-age");
  const history = part("a", "history-link", "task-history"); // shown when the server keeps history (history.js)
  history.textContent = "History";
  foot.append(origin, history, age);
  root.append(head, idLine, reason, barRow, statsRow, extras, foot);
  return Object.assign(view, {
    el: root, badge, title, idLine, reason, bar, fill, figures, usual, slow, history, extras, postfix, chips, origin, age,
    shown: null, cache: Object.create(null),
  });
}

/**
 * What the filter looks in: the id, desc, host and meta keys and values, in lower case.
 * @param {string} id
 * @param {object} task
 * @returns {string}
 */
export function searchText(id, task) {
  const meta = isObject(task.meta) ? task.meta : {};
  const keys = Object.keys(meta);
  const hostKey = text(task.host) ? null : firstMeta(meta, HOST_KEYS);
  const host = text(task.host) || (hostKey ? metaValue(meta[hostKey]) : "");
  const found = [host, ...keys.map((key) => `${key} ${metaValue(meta[key])}`)].join("\n");
  return `${id}\n${text(task.desc)}\n${found}`.toLowerCase();
}

/**
 * Show `task` on its (built) card, touching only what changed.
 * @param {CardView} view
 * @param {object} task
 * @param {number} now  server clock, unix seconds
 */
export function updateCard(view, task, now) {
  const status = knownStatus(task.status);
  if (view.cache.status !== status) {
    view.cache.status = status;
    view.el.dataset.status = status;
    view.badge.textContent = STATUS_LABELS[status];
    // "Running" is what the Active column says already; Needs Attention holds two kinds, so they are named.
    view.badge.hidden = status === "update";
  }
  const desc = text(task.desc);
  const named = desc !== "" && desc !== view.id;
  const title = named ? shownText(desc) : shownId(view.id);
  put(view, "title", view.title, title);
  if (view.cache.tip !== title) {
    view.cache.tip = title;
    view.title.title = title;
    view.bar.setAttribute("aria-label", title); // the bar is named by its task
  }
  put(view, "idLine", view.idLine, named ? shownId(view.id) : "");
  const reason = reasonOf(task);
  put(view, "reason", view.reason, shownText(reason));
  if (view.reason.title !== view.reason.textContent) view.reason.title = view.reason.textContent;

  const share = fraction(task);
  if (view.cache.share !== share) {
    view.cache.share = share;
    view.bar.classList.toggle("bar-indeterminate", share === null);
    setBar(view.bar, view.fill, share);
  }
  for (const [name, value] of Object.entries(taskFigures(task))) put(view, name, view.figures[name], shownText(value));
  put(view, "postfix", view.postfix, shownText(text(task.postfix)));
  // The server sends it on open tasks only; a finished card says neither usual nor slower.
  const usual = status === "close" || status === "error" || status === "lost" ? null : finite(task[USUAL_FIELD]);
  put(view, "usual", view.usual, usual === null || usual < 0 ? "" : "usual " + formatDuration(usual));

  const meta = isObject(task.meta) ? task.meta : {};
  const metaJson = metaValue(meta);
  if (
    view.cache.meta !== metaJson || view.cache.host !== task.host || view.cache.pid !== task.pid
    || view.cache.said !== reason
  ) {
    view.cache.meta = metaJson;
    view.cache.host = task.host;
    view.cache.pid = task.pid;
    view.cache.said = reason;
    renderMeta(view, task, meta, reason);
    const key = taskKey(view.id, task.meta);
    view.history.href = "#history=" + encodeURIComponent(key); // history.js's historyLink (not imported: it builds a dialog)
    view.history.title = `Past runs of ${shownId(key)}`;
    view.history.setAttribute("aria-label", `History of ${shownId(key)}`);
  }
  const noExtras = view.postfix.hidden && view.chips.hidden;
  if (view.cache.noExtras !== noExtras) {
    view.cache.noExtras = noExtras;
    view.extras.hidden = noExtras;
  }
  view.shown = task;
  tickAge(view, now);
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
  return keys.find((key) => Object.hasOwn(meta, key) && meta[key] !== null && meta[key] !== "") ?? null;
}

// The meta key the reason line already says (no chip repeats it).
const REASON_KEYS = ["error", "signal"];

function renderMeta(view, task, meta, reason) {
  const hostKey = text(task.host) ? null : firstMeta(meta, HOST_KEYS);
  const jobKey = firstMeta(meta, JOB_KEYS);
  const saidKey = reason ? REASON_KEYS.find((key) => reasonText(meta[key]) === reason) ?? null : null;
  const host = text(task.host) || (hostKey ? metaValue(meta[hostKey]) : "");
  const parts = [];
  if (host) parts.push(host);
  if (finite(task.pid) !== null) parts.push(`pid ${task.pid}`);
  if (jobKey) parts.push(`${jobKey.replace(/_id$/, "")} ${metaValue(meta[jobKey])}`);
  const origin = clip(shownText(parts.join(" · ")), 120);
  put(view, "origin", view.origin, origin);
  view.origin.title = origin;

  const keys = Object.keys(meta);
  const shown = keys.filter((key) => key !== hostKey && key !== jobKey && key !== saidKey);
  const chips = shown.slice(0, CHIP_LIMIT).map((key) => {
    const value = shownText(metaValue(meta[key]));
    const chip = el("li", "chip");
    chip.title = `${shownText(key)}: ${clip(value, 2000)}`;
    chip.append(el("span", "chip-key", clip(shownText(key), 40)), el("span", "chip-value", clip(value, 80)));
    return chip;
  });
  if (shown.length > CHIP_LIMIT) chips.push(el("li", "chip chip-more", `+${shown.length - CHIP_LIMIT} more`));
  view.chips.replaceChildren(...chips);
  view.chips.hidden = chips.length === 0;
}

/**
 * Refresh the card's age line. Running and finished tasks say when they last
 * changed; stale ones how long they made no progress (updated_at); lost ones
 * how long nothing was heard (seen_at).
 * @param {CardView} view
 * @param {number} now  server clock, unix seconds
 */
export function tickAge(view, now) {
  const task = view.shown;
  const updated = finite(task.updated_at);
  let label;
  if (task.status === "lost") {
    const seen = finite(task.seen_at) ?? updated;
    label = seen === null ? "no contact" : `no contact for ${formatSince(now - seen)}`;
  } else if (task.status === "stale") {
    label = updated === null ? "no progress" : `no progress for ${formatSince(now - updated)}`;
  } else {
    label = updated === null ? "" : formatAge(now - updated);
  }
  if (view.cache.age !== label) {
    view.cache.age = label;
    view.age.textContent = label;
  }
  // Slower than usual comes with the clock, no event needed; a stale card keeps its colour (CSS) but says it.
  const slow = slowerThanUsual(task, now);
  if (view.cache.slow !== slow) {
    view.cache.slow = slow;
    view.slow.textContent = slow ? "slower than usual" : "";
    view.slow.hidden = !slow;
    view.el.classList.toggle("card-slow", slow);
  }
}
