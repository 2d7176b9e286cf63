/**
 * How the dashboard writes numbers: `progressista/protocol/format.py`, function for function.
 *
 * The terminal (`progressista watch`, `tasks ls`) and this page show the same
 * text for the same task because both implement one set of rules, and the cases
 * in `protocol/format_cases.json` are run against both (`tests/test_format_js.py`
 * runs them here, in Chromium). Names are the Python ones in camelCase:
 *
 * | format.py        | format.js       |
 * | ---------------- | --------------- |
 * | `finite`         | `finite` (from `task.py`) |
 * | `fraction`       | `fraction`      |
 * | `rate_of`        | `rateOf`        |
 * | `eta_seconds`    | `etaSeconds`    |
 * | `format_count`   | `formatCount`   |
 * | `format_amount`  | `formatAmount`  |
 * | `format_rate`    | `formatRate`    |
 * | `format_duration`| `formatDuration`|
 * | `format_since`   | `formatSince`   |
 * | `format_age`     | `formatAge`     |
 * | `format_percent` | `formatPercent` |
 * | `task_figures`   | `taskFigures`   |
 * | `group_figures`  | `groupFigures`  |
 * | `group_counts`   | `groupCounts`   |
 *
 * Two helpers have no Python twin: `groupMembers` and `bucketCounts`, the parts
 * of `groupCounts`, so a group row can draw the buckets as pills.
 *
 * Python's `None` is `null` (or `undefined`) here. Nothing depends on the
 * browser's locale: thousands are separated by "," as Python's `f"{n:,}"`, and
 * decimals come from `toFixed`, which rounds exact ties away from zero as
 * format.py's `_fixed` does.
 *
 * @module format
 */

import { ACTIVE, BUCKETS } from "./protocol.js";

const SI = ["", "k", "M", "G", "T", "P", "E"];

/**
 * `value` if it is a finite number, else null (`protocol/task.py` `finite`).
 * @param {unknown} value
 * @returns {number | null}
 */
export function finite(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

const unitOf = (unit) => (typeof unit === "string" && unit ? unit : "it");

/**
 * Done share in [0, 1], or null when the total is unknown.
 * @param {object} task
 * @returns {number | null}
 */
export function fraction(task) {
  const total = finite(task.total);
  if (total === null || total <= 0) return null;
  const n = finite(task.n) || 0;
  return Math.min(1, Math.max(0, n / total));
}

/**
 * Units per second: the bar's own `rate`, else `n / elapsed` (a task posted without a rate); null if neither.
 * @param {object} task
 * @returns {number | null}
 */
export function rateOf(task) {
  const rate = finite(task.rate);
  if (rate !== null && rate > 0) return rate;
  const n = finite(task.n);
  const elapsed = finite(task.elapsed);
  return n && elapsed && n > 0 && elapsed > 0 ? n / elapsed : null;
}

/**
 * Seconds left for a running task with a known total and rate; null otherwise.
 * @param {object} task
 * @returns {number | null}
 */
export function etaSeconds(task) {
  if (!ACTIVE.has(task.status)) return null;
  const total = finite(task.total);
  const rate = rateOf(task);
  if (total === null || total <= 0 || rate === null) return null;
  return Math.max(0, (total - (finite(task.n) || 0)) / rate);
}

// format.py's _fixed: toFixed rounds the exact value, ties away from zero.
const fixed = (x, digits) => x.toFixed(digits);

// Three significant digits with an SI suffix from 1000 up, like tqdm (format.py's _short).
function short(x) {
  let index = 0;
  while (Math.abs(x) >= 999.5 && index < SI.length - 1) {
    x /= 1000;
    index += 1;
  }
  const size = Math.abs(x);
  const digits = size >= 99.95 ? 0 : size >= 9.995 ? 1 : 2;
  return fixed(x, digits) + SI[index];
}

// f"{n:,}" for a whole number: "," every three digits, whatever the browser's locale.
function grouped(whole) {
  const digits = String(Math.abs(whole));
  return (whole < 0 ? "-" : "") + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * `1,234` for whole numbers, `2.50` for fractions, `1.28M` from a million up.
 * @param {number} x
 * @returns {string}
 */
export function formatCount(x) {
  if (Math.abs(x) >= 1e6) return short(x);
  if (Number.isInteger(x)) return grouped(x);
  return fixed(x, Math.abs(x) >= 100 ? 1 : 2);
}

/**
 * `480/1,000 it`; `42 it` without a total; one style for both numbers: `803k/1.28M it`, `61.2/148 GB`.
 * @param {unknown} n
 * @param {unknown} total
 * @param {unknown} [unit]
 * @returns {string}
 */
export function formatAmount(n, total, unit = "it") {
  const done = finite(n) || 0;
  let whole = finite(total);
  if (whole !== null && whole <= 0) whole = null;
  if (whole === null) return `${formatCount(done)} ${unitOf(unit)}`;
  if (Math.max(Math.abs(done), Math.abs(whole)) >= 1e6 || !Number.isInteger(done) || !Number.isInteger(whole)) {
    return `${short(done)}/${short(whole)} ${unitOf(unit)}`;
  }
  return `${formatCount(done)}/${formatCount(whole)} ${unitOf(unit)}`;
}

/**
 * `12.3 it/s`, or `2.50 s/it` below one per second; `""` when unknown.
 * @param {unknown} rate
 * @param {unknown} [unit]
 * @returns {string}
 */
export function formatRate(rate, unit = "it") {
  const value = finite(rate);
  if (value === null || value <= 0) return "";
  return value >= 1 ? `${short(value)} ${unitOf(unit)}/s` : `${short(1 / value)} s/${unitOf(unit)}`;
}

const pad2 = (x) => String(x).padStart(2, "0");

/**
 * `00:42`, `1:02:03`, or `3d 4h` from two days up; `""` when unknown.
 * @param {unknown} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  const value = finite(seconds);
  if (value === null) return "";
  let s = Math.max(0, Math.floor(value + 0.5)); // half up, as format.py (not Math.round's exact tie rule)
  const days = Math.floor(s / 86400);
  if (days >= 2) return `${days}d ${Math.floor((s % 86400) / 3600)}h`;
  const hours = Math.floor(s / 3600);
  s %= 3600;
  const minutes = Math.floor(s / 60);
  s %= 60;
  return hours ? `${hours}:${pad2(minutes)}:${pad2(s)}` : `${pad2(minutes)}:${pad2(s)}`;
}

/**
 * A coarse span, largest unit only: `0s`, `12s`, `5m`, `3h`, `2d`.
 * @param {unknown} seconds
 * @returns {string}
 */
export function formatSince(seconds) {
  const value = finite(seconds);
  if (value === null || value < 0) return "0s";
  if (value < 60) return `${Math.floor(value)}s`;
  if (value < 3600) return `${Math.floor(value / 60)}m`;
  if (value < 86400) return `${Math.floor(value / 3600)}h`;
  return `${Math.floor(value / 86400)}d`;
}

/**
 * `just now`, `12s ago`, `5m ago`, `3h ago`, `2d ago`.
 * @param {unknown} seconds
 * @returns {string}
 */
export function formatAge(seconds) {
  const value = finite(seconds);
  return value === null || value < 2 ? "just now" : `${formatSince(value)} ago`;
}

/**
 * `48%` (rounded down, so 100% means done); `""` when unknown.
 * @param {unknown} share
 * @returns {string}
 */
export function formatPercent(share) {
  const value = finite(share);
  return value === null ? "" : `${Math.floor(value * 100)}%`;
}

/**
 * The figures of a task card, as text; `""` for those that do not apply.
 * @param {object} task
 * @returns {{percent: string, amount: string, rate: string, elapsed: string, eta: string}}
 */
export function taskFigures(task) {
  const unit = task.unit;
  const elapsed = formatDuration(task.elapsed);
  const eta = etaSeconds(task);
  return {
    percent: formatPercent(fraction(task)),
    amount: formatAmount(task.n, task.total, unit),
    rate: formatRate(rateOf(task), unit),
    elapsed: elapsed ? `${elapsed} elapsed` : "",
    eta: eta === null ? "" : `ETA ${formatDuration(eta)}`,
  };
}

/**
 * The figures of a group row (a server aggregate, as `GET /groups` answers), as text.
 * @param {object} group
 * @returns {{percent: string, amount: string, unknown: string, rate: string, eta: string, counts: string}}
 */
export function groupFigures(group) {
  if (finite(group.members) === 0) { // only a run task, no bar yet: nothing to sum, nothing to count
    return { percent: "", amount: "", unknown: "", rate: "", eta: "", counts: "" };
  }
  const unit = group.unit ?? null;
  let amount = "";
  if (unit === null) amount = "mixed units";
  else if (group.n !== null && group.n !== undefined) amount = formatAmount(group.n, group.total, unit);
  const unknown = finite(group.unknown_totals) || 0;
  const eta = finite(group.eta);
  return {
    percent: formatPercent(group.progress),
    amount,
    unknown: unknown ? `${Math.trunc(unknown)} without total` : "",
    rate: unit === null ? "" : formatRate(group.rate, unit),
    eta: eta === null ? "" : `ETA ${formatDuration(eta)}`,
    counts: groupCounts(group),
  };
}

/**
 * The non-empty buckets of a group, in order: `[["active", "2 active"], ["done", "1 done"]]`
 * (a helper of this module only, for drawing the tally).
 * @param {object} group
 * @returns {Array<[string, string]>}
 */
export function bucketCounts(group) {
  const counts = group.counts && typeof group.counts === "object" ? group.counts : {};
  return Object.keys(BUCKETS).filter((bucket) => counts[bucket]).map((bucket) => [bucket, `${counts[bucket]} ${bucket}`]);
}

/** The separator `groupCounts` puts between buckets. */
export const COUNT_SEPARATOR = " · ";

/**
 * `5 tasks`, `1 task`: the head of `groupCounts` (a helper of this module only, for drawing the tally).
 * @param {object} group
 * @returns {string}
 */
export function groupMembers(group) {
  const members = Math.trunc(finite(group.members) || 0);
  return `${members} task${members === 1 ? "" : "s"}`;
}

/**
 * `5 tasks: 2 active · 1 lost · 2 done`: members per bucket, empty buckets left out; `""` for none.
 * @param {object} group
 * @returns {string}
 */
export function groupCounts(group) {
  if (finite(group.members) === 0) return "";
  return `${groupMembers(group)}: ${bucketCounts(group).map(([, text]) => text).join(COUNT_SEPARATOR)}`;
}
