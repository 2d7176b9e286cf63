/**
 * Group rows: the head of a run (tasks sharing a `prefix:`), drawn from the
 * aggregate the server computed (`/ws` `groups`, the same rows as `GET /groups`).
 * Nothing is summed here.
 *
 * Every figure is `groupFigures(aggregate)` (format.js) in its own
 * `data-testid` node: group-percent, group-amount, group-rate, group-eta,
 * group-unknown, and group-count (`5 tasks: 2 active · 1 lost · 2 done`), whose
 * buckets are pills of their own (group-active, group-stale, group-lost,
 * group-done, group-error). group-status names the worst member's status.
 *
 * A run (`progressista run` / `exec`) heads its group: the row's `run`
 * (`groups.run_head`) shows in group-run as run-command (what was typed),
 * run-state (its status label), run-exit (`exit 1`) and run-reason (why it
 * failed). Its task has no card of its own (board.js leaves it out).
 *
 * @module groups
 */

import { el, isObject, part, progressBar, put, setBar, text } from "./dom.js";
import { bucketCounts, COUNT_SEPARATOR, groupFigures, groupMembers } from "./format.js";
import { knownStatus, STATUS_LABELS } from "./protocol.js";
import { shownId, shownText } from "./text.js";

/**
 * A row view: its element, its parts, and what it last showed.
 * @typedef {{key: string, el: HTMLElement, body: HTMLElement, cache: object}} GroupRow
 */

/**
 * Build a row of group `prefix`; `key` names the row (one per column).
 * @param {string} key
 * @param {string} prefix
 * @returns {GroupRow}
 */
export function createGroupRow(key, prefix) {
  const root = part("section", "group", "group");
  root.dataset.group = prefix;
  root.dataset.key = key;
  const head = part("button", "group-head", "group-toggle");
  head.type = "button";
  head.dataset.action = "toggle-group";

  const top = el("span", "group-top");
  const chevron = el("span", "chevron");
  chevron.setAttribute("aria-hidden", "true");
  const name = el("span", "group-name", shownId(prefix)); // a prefix is the start of an id
  name.title = name.textContent;
  const here = part("span", "group-here", "group-here");
  const badge = part("span", "badge group-badge", "group-status");
  top.append(chevron, name, here, badge);

  const run = part("span", "group-run", "group-run");
  const runParts = {
    command: part("span", "run-command", "run-command"),
    state: part("span", "badge run-state", "run-state"),
    exit: part("span", "run-exit", "run-exit"),
    reason: part("span", "run-reason clamped", "run-reason"),
  };
  run.append(runParts.command, runParts.state, runParts.exit, runParts.reason);

  const barRow = el("span", "group-bar-row");
  const [bar, fill] = progressBar("span", "group-bar");
  bar.setAttribute("aria-label", `${prefix}: progress of the group`);
  const figures = {
    percent: part("span", "group-pct", "group-percent"),
    amount: part("span", "group-amount", "group-amount"),
    rate: part("span", "group-rate", "group-rate"),
    eta: part("span", "group-eta", "group-eta"),
    unknown: part("span", "group-unknown", "group-unknown"),
  };
  barRow.append(bar, figures.percent);
  const tally = part("span", "group-tally", "group-count");
  const statsRow = el("span", "group-stats");
  statsRow.append(figures.amount, figures.rate, figures.eta, figures.unknown, tally);

  head.append(top, run, barRow, statsRow);
  const body = el("div", "group-body");
  root.append(head, body);
  return {
    key, el: root, head, here, badge, run, runParts, runId: null, barRow, bar, fill, figures, tally, body,
    cache: Object.create(null),
  };
}

/**
 * Show the whole group's `aggregate` on a row holding `here` of its members.
 * @param {GroupRow} row
 * @param {object} aggregate  a server group row (members, counts, status, n, total, unit, progress, rate, eta, …)
 * @param {number} here  members in this row's column
 * @param {boolean} collapsed
 */
export function updateGroupRow(row, aggregate, here, collapsed) {
  const status = knownStatus(aggregate.status);
  if (row.cache.status !== status) {
    row.cache.status = status;
    row.el.dataset.status = status;
  }
  put(row, "badge", row.badge, status === "update" ? "" : STATUS_LABELS[status]);
  const members = aggregate.members;
  // No card here (only the run task is in this column): nothing to count.
  put(row, "here", row.here, here === members || here === 0 ? "" : `${here} of ${members} here`);
  if (row.cache.hereTip !== here) {
    row.cache.hereTip = here;
    row.here.title = `${here} of this group's ${members} tasks are in this column; the figures cover the whole group`;
  }

  const share = typeof aggregate.progress === "number" ? aggregate.progress : null;
  if (row.cache.share !== share) {
    row.cache.share = share;
    row.barRow.hidden = share === null;
    setBar(row.bar, row.fill, share);
  }
  const figures = groupFigures(aggregate);
  for (const [name, node] of Object.entries(row.figures)) put(row, name, node, shownText(figures[name]));
  if (row.cache.counts !== figures.counts) {
    row.cache.counts = figures.counts;
    drawTally(row.tally, aggregate);
    row.tally.hidden = figures.counts === ""; // only a run task, no bar yet
  }
  drawRun(row, isObject(aggregate.run) ? aggregate.run : null);

  if (row.cache.collapsed !== collapsed) {
    row.cache.collapsed = collapsed;
    row.el.classList.toggle("collapsed", collapsed);
    row.head.setAttribute("aria-expanded", String(!collapsed));
    row.head.title = collapsed ? "Show these tasks" : "Hide these tasks";
  }
}

// group-count's text is groupCounts' exactly ("5 tasks: 2 active · 1 done"), its buckets drawn as pills.
function drawTally(tally, aggregate) {
  const nodes = [el("span", "tally-total", groupMembers(aggregate)), el("span", "tally-sep", ": ")];
  bucketCounts(aggregate).forEach(([bucket, words], i) => {
    if (i) nodes.push(el("span", "tally-sep", COUNT_SEPARATOR));
    const pill = part("span", "tally", "group-" + bucket);
    pill.dataset.bucket = bucket;
    pill.textContent = words;
    nodes.push(pill);
  });
  tally.replaceChildren(...nodes);
}

// The run at the head of the group: what was typed, its state, exit code and reason, as the server wrote them.
function drawRun(row, run) {
  row.runId = run === null ? null : text(run.task_id);
  const status = run === null ? "" : knownStatus(run.status);
  if (row.cache.runStatus !== status) {
    row.cache.runStatus = status;
    row.run.dataset.status = status;
    row.run.hidden = run === null;
  }
  const parts = row.runParts;
  const said = {
    command: run === null ? "" : shownText(text(run.command)),
    state: run === null ? "" : STATUS_LABELS[status],
    exit: run === null ? "" : text(run.exit),
    reason: run === null ? "" : shownText(text(run.reason)),
  };
  for (const [name, value] of Object.entries(said)) {
    put(row, "run-" + name, parts[name], value);
    if ((name === "command" || name === "reason") && parts[name].title !== value) parts[name].title = value;
  }
}
