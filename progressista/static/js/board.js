/**
 * The board: three columns built from one template, and where each card and
 * group row goes in them.
 *
 * A task sits in the column of its own status, newest first. A task whose
 * prefix the server reports as a group sits under that group's row; a group
 * with members in several columns gets a row in each of them, every row
 * showing the whole group's aggregate (so the same figures as `GET /groups`
 * wherever you look, and a failure elsewhere colours the row beside the
 * running members). The filter hides cards, never a row's figures. A
 * group's run task (the server names it: `run.task_id` of its row) has no
 * card: its group's row is its card, placed in the run task's column too.
 *
 * A column listing more than WINDOW_THRESHOLD cards and rows is windowed
 * (windowing.js): only what is in view is drawn. Every task has a view (what
 * sorting and the filter need); a card is built the first time it is drawn,
 * and patched only while it is in the DOM, else when it is next drawn.
 *
 * @module board
 */

import { buildCard, newView, searchText, tickAge, updateCard } from "./cards.js";
import { reconcile } from "./dom.js";
import { finite } from "./format.js";
import { createGroupRow, updateGroupRow } from "./groups.js";
import { COLUMN_TITLES, COLUMNS, columnOf, expandStatusFilter } from "./protocol.js";
import { groups, tasks } from "./store.js";
import { ColumnWindow, entryCount, setPosition, WINDOW_THRESHOLD } from "./windowing.js";

const COLLAPSED_KEY = "progressista.collapsed";
const EMPTY = {
  active: ["No active tasks", "No active task matches the filter"],
  stale: ["All clear. Bars that stop moving (stale) or stop reporting (lost) show up here.",
    "No stale or lost task matches the filter"],
  completed: ["No completed tasks", "No completed task matches the filter"],
};

/** task_id → card view. */
export const views = new Map();
const rows = new Map(); // column + "\n" + prefix → group row
const collapsed = loadCollapsed(); // row keys folded by the user, remembered across reloads
const columns = buildColumns();
let filterTerms = []; // every word of the filter
let textTerms = [];
let statusTerms = []; // one Set of statuses per `status:` word (null: a name no status has)
let clock = 0; // the server clock of the last update or tick, for cards drawn in between

/** Tasks per column, and lost and failed (error) ones, as of the last layout; `shown`: those the filter lets through. */
export let counts = {
  active: 0, stale: 0, completed: 0, lost: 0, failed: 0, shown: { active: 0, stale: 0, completed: 0 },
};

function buildColumns() {
  const template = document.getElementById("column-template");
  const board = document.getElementById("board");
  const built = {};
  for (const name of COLUMNS) {
    const section = template.content.firstElementChild.cloneNode(true);
    section.id = "column-" + name;
    section.dataset.column = name;
    section.dataset.testid = "column-" + name;
    section.setAttribute("aria-labelledby", "h-" + name);
    const heading = section.querySelector("h2");
    heading.id = "h-" + name;
    heading.textContent = COLUMN_TITLES[name];
    const count = section.querySelector(".count");
    count.dataset.testid = "count-" + name;
    count.dataset.count = name;
    const body = section.querySelector(".column-body");
    body.dataset.testid = "list-" + name;
    const empty = section.querySelector(".empty");
    empty.textContent = EMPTY[name][0];
    board.append(section);
    const list = new ColumnWindow(body, drawn); // used only while the column is long
    built[name] = { section, body, empty, window: list, counts: document.querySelectorAll(`[data-count="${name}"]`) };
  }
  return built;
}

/**
 * Show what changed: cards of `dirty` task ids made, patched or dropped.
 * @param {Iterable<string>} dirty
 * @param {number} now  server clock
 * @returns {boolean} whether the layout must be redone (a card came, went, changed column or moved)
 */
export function updateCards(dirty, now) {
  clock = now;
  let moved = false;
  for (const id of dirty) {
    const task = tasks.get(id);
    let view = views.get(id);
    if (!task) {
      if (view) {
        if (view.el) view.el.remove();
        views.delete(id);
        moved = true;
      }
      continue;
    }
    if (!view) {
      view = newView(id);
      views.set(id, view);
      moved = true;
    }
    const before = view.task;
    if (before === task) continue;
    view.task = task;
    view.search = searchText(id, task);
    // A card on the page is patched now; one off it (out of a column's window, in a folded row) when next drawn.
    if (view.el !== null && view.el.isConnected) updateCard(view, task, now);
    if (!before || before.updated_at !== task.updated_at || before.status !== task.status) moved = true;
  }
  return moved;
}

// A card's element, built if it never was, showing its latest task.
function drawn(view) {
  if (view.el === null) buildCard(view);
  if (view.shown !== view.task) updateCard(view, view.task, clock);
  else if (!view.el.isConnected) tickAge(view, clock); // its age went on while it was off the page
  return view.el;
}

/**
 * Redraw the rows of groups whose aggregate changed, in place.
 * @param {Iterable<string>} prefixes
 * @returns {boolean} whether the layout must be redone instead (a group came or went)
 */
export function updateRows(prefixes) {
  const changed = new Set(prefixes);
  const drawn = new Set();
  for (const row of rows.values()) {
    if (!changed.has(row.prefix)) continue;
    const aggregate = groups.get(row.prefix);
    if (!aggregate) return true;
    const runId = row.runId;
    updateGroupRow(row, aggregate, row.count, collapsed.has(row.key));
    if (row.runId !== runId) return true; // a card becomes the row's head, or stops being it
    drawn.add(row.prefix);
  }
  for (const prefix of changed) if (!drawn.has(prefix)) return true;
  return false;
}

const newestFirst = (a, b) => b.updated - a.updated || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Place every card and group row in its column, in order, and update the counts. */
export function layout() {
  const items = {};
  const placed = {}; // column → prefix → its row's entry
  const totals = {};
  const shown = {};
  for (const name of COLUMNS) {
    items[name] = [];
    placed[name] = new Map();
    totals[name] = shown[name] = 0;
  }
  let lost = 0;
  let failed = 0;
  for (const view of views.values()) {
    const name = columnOf(view.task.status);
    totals[name] += 1;
    if (view.task.status === "lost") lost += 1;
    if (view.task.status === "error") failed += 1;
    const prefix = view.prefix !== null && groups.has(view.prefix) ? view.prefix : null;
    let entry = prefix === null ? null : placed[name].get(prefix);
    if (prefix !== null && !entry) {
      entry = { id: prefix, updated: -Infinity, members: [], count: 0, listed: false };
      placed[name].set(prefix, entry);
    }
    const head = entry !== null && groups.get(prefix).run?.task_id === view.id; // drawn as the row itself
    if (entry && !head) entry.count += 1; // cards here, whatever the filter
    if (!matches(view)) continue;
    shown[name] += 1;
    const item = { id: view.id, updated: finite(view.task.updated_at) ?? 0, view };
    if (!entry) {
      items[name].push(item);
      continue;
    }
    if (!entry.listed) items[name].push(entry);
    entry.listed = true;
    if (!head) entry.members.push(item);
    entry.updated = Math.max(entry.updated, item.updated);
  }
  const live = new Set();
  for (const name of COLUMNS) {
    items[name].sort(newestFirst);
    const entries = items[name].map((item) => (item.members ? placeRow(name, item, live) : item));
    const target = columns[name];
    if (entryCount(entries) > WINDOW_THRESHOLD) {
      target.window.show(entries);
    } else {
      target.window.show(null);
      reconcile(target.body, entries.map((entry) => (entry.row ? fillRow(entry) : whole(entry.view))));
    }
    const label = filterTerms.length && shown[name] !== totals[name] ? `${shown[name]} of ${totals[name]}` : String(shown[name]);
    for (const node of target.counts) {
      if (node.textContent !== label) node.textContent = label;
    }
    target.section.dataset.total = String(totals[name]);
    target.empty.hidden = shown[name] > 0;
    target.empty.textContent = EMPTY[name][filterTerms.length && totals[name] ? 1 : 0];
  }
  for (const key of rows.keys()) if (!live.has(key)) rows.delete(key);
  counts = { ...totals, lost, failed, shown };
}

function placeRow(name, entry, live) {
  const key = name + "\n" + entry.id;
  live.add(key);
  let row = rows.get(key);
  if (!row) {
    row = createGroupRow(key, entry.id);
    row.prefix = entry.id;
    rows.set(key, row);
  }
  row.count = entry.count;
  const folded = collapsed.has(key);
  updateGroupRow(row, groups.get(entry.id), entry.count, folded);
  entry.members.sort(newestFirst);
  return { row, members: entry.members, folded };
}

// A row drawn whole. Collapsed rows keep their cards detached: nothing to lay out.
function fillRow(entry) {
  reconcile(entry.row.body, entry.folded ? [] : entry.members.map((member) => whole(member.view)));
  return entry.row.el;
}

// A card of a column drawn whole: no place in a window to announce.
function whole(view) {
  setPosition(view, null);
  return drawn(view);
}

function matches(view) {
  return statusTerms.every((statuses) => statuses !== null && statuses.has(view.task.status))
    && textTerms.every((term) => view.search.includes(term));
}

/**
 * Filter cards by words (all must appear in the id, desc, host or meta; any case). A word
 * `status:NAME[,NAME…]` keeps the tasks with one of those statuses instead (the names of the
 * server's `?status=`: `status:error`, `status:attention`, `status:lost,stale`).
 * @param {string} value
 */
export function setFilter(value) {
  filterTerms = value.toLowerCase().split(/\s+/).filter(Boolean);
  const isStatus = (term) => term.startsWith("status:");
  statusTerms = filterTerms.filter(isStatus).map((term) => expandStatusFilter(term.slice("status:".length)));
  textTerms = filterTerms.filter((term) => !isStatus(term));
}

/**
 * Fold or unfold a row (by its key), and remember it.
 * @param {string} key
 */
export function toggleRow(key) {
  if (collapsed.has(key)) collapsed.delete(key);
  else collapsed.add(key);
  try {
    localStorage.setItem(COLLAPSED_KEY, JSON.stringify([...collapsed].slice(-200)));
  } catch (_) { /* storage may be disabled or full */ }
}

function loadCollapsed() {
  try {
    const saved = JSON.parse(localStorage.getItem(COLLAPSED_KEY) || "[]");
    return new Set(Array.isArray(saved) ? saved.filter((key) => typeof key === "string") : []);
  } catch (_) {
    return new Set();
  }
}

/**
 * The element that shows task `id` on the board: its card, or the row of the
 * group it is the run of; null when it has none (not here yet, filtered out,
 * or in a folded row).
 * @param {string} id
 * @returns {HTMLElement | null}
 */
export function elementOf(id) {
  const view = views.get(id);
  if (!view || !view.task) return null;
  if (view.el !== null && view.el.isConnected) return view.el;
  const row = view.prefix === null ? undefined : rows.get(columnOf(view.task.status) + "\n" + view.prefix);
  return row && row.runId === id && row.el.isConnected ? row.el : null;
}

/**
 * Scroll a windowed column to task `id`'s card (or the row it is the run of) and draw it there.
 * @param {string} id
 * @param {() => void} showing  called first when the column lists it (to show a narrow screen's tab)
 * @returns {HTMLElement | null} the element, or null when no column lists it (not here, filtered out, folded)
 */
export function reveal(id, showing) {
  const view = views.get(id);
  return view && view.task ? columns[columnOf(view.task.status)].window.reveal(id, showing) : null;
}

/**
 * Unfold the row holding task `id`'s card, if it is folded (remembered, as a click would).
 * @param {string} id
 * @returns {boolean} whether it was folded
 */
export function unfoldFor(id) {
  const view = views.get(id);
  if (!view || !view.task || view.prefix === null) return false;
  const key = columnOf(view.task.status) + "\n" + view.prefix;
  if (!collapsed.has(key)) return false;
  toggleRow(key);
  return true;
}

/**
 * Tick every card's age line.
 * @param {number} now  server clock
 */
export function tickAges(now) {
  clock = now;
  for (const view of views.values()) if (view.el !== null && view.el.isConnected) tickAge(view, now);
}
