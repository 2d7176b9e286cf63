/**
 * The contract's names, as `progressista/protocol/statuses.py`, `groups.py`, `reasons.py` and `history.py` define them.
 *
 * Only what the dashboard draws with: which column a status goes to, how it
 * reads, how group members are counted, which tasks form a group, why a
 * task failed, a task's key across runs and whether it runs slower than usual
 * (`protocol/history_cases.json` runs against both sides). The group figures themselves, and which member is a group's
 * run task, come from the server (`/ws` `groups`), never from here.
 *
 * @module protocol
 */

/** Statuses of a running task (`statuses.ACTIVE`). */
export const ACTIVE = new Set(["start", "update"]);

/** The dashboards' columns, left to right (`statuses.COLUMNS`). */
export const COLUMNS = ["active", "stale", "completed"];

/** Column headings (`statuses.COLUMN_TITLES`). */
export const COLUMN_TITLES = { active: "Active", stale: "Needs attention", completed: "Completed" };

/** Which column a status is shown in (`statuses.COLUMN_OF`): "stale" and "lost" both need attention. */
export const COLUMN_OF = {
  start: "active", update: "active", stale: "stale", lost: "stale", close: "completed", error: "completed",
};

/** How a status reads on a card or a group row (`statuses.STATUS_LABELS`). */
export const STATUS_LABELS = {
  start: "starting", update: "running", stale: "stale", lost: "lost", close: "done", error: "error",
};

/** How group members are counted, `{bucket: statuses}`, in display order (`groups.BUCKETS`). */
export const BUCKETS = {
  active: ["start", "update"], stale: ["stale"], lost: ["lost"], done: ["close"], error: ["error"],
};

/**
 * Every name a status filter accepts, with the statuses it stands for (`statuses.FILTERS`): the server's
 * `?status=` and the page's `status:` filter term read the same names.
 */
export const FILTERS = {
  start: ["start"], update: ["update"], stale: ["stale"], lost: ["lost"], close: ["close"], error: ["error"],
  active: ["start", "update"], attention: ["stale", "lost"], completed: ["close", "error"],
};

/**
 * `statuses.expand_status_filter`: filter names ("error", "active,stale") as task statuses; null if one is unknown.
 * @param {string} names  comma-separated
 * @returns {Set<string> | null}
 */
export function expandStatusFilter(names) {
  const statuses = new Set();
  for (const raw of names.split(",")) {
    const name = raw.trim();
    if (!name) continue;
    if (!Object.hasOwn(FILTERS, name)) return null;
    for (const status of FILTERS[name]) statuses.add(status);
  }
  return statuses;
}

/**
 * `statuses.column_of`: the column of a status; an unknown status counts as active.
 * @param {unknown} status
 * @returns {string}
 */
export function columnOf(status) {
  return typeof status === "string" && Object.hasOwn(COLUMN_OF, status) ? COLUMN_OF[status] : "active";
}

/**
 * A known status, else "update" (how an unknown one is drawn).
 * @param {unknown} status
 * @returns {string}
 */
export function knownStatus(status) {
  return typeof status === "string" && Object.hasOwn(STATUS_LABELS, status) ? status : "update";
}

/**
 * `groups.group_of`: the part of a task id before the first ":", when both sides are non-empty; else null.
 * @param {string} taskId
 * @returns {string | null}
 */
export function groupOf(taskId) {
  const i = taskId.indexOf(":");
  return i > 0 && i < taskId.length - 1 ? taskId.slice(0, i) : null;
}

/** `task.MAX_ERROR`: a reason is cut to this many characters. */
export const MAX_ERROR = 500;

// reasons.py's _BREAKS: line breaks, tabs and control characters read as one space.
const BREAKS = /[\u0000-\u0020\u007f-\u009f\u2028\u2029]+/g;

/**
 * `reasons.reason_text`: `value` as one line, at most MAX_ERROR characters (cut with "…"); "" if not text.
 * @param {unknown} value
 * @returns {string}
 */
export function reasonText(value) {
  if (typeof value !== "string") return "";
  const flat = value.replace(BREAKS, " ").replace(/^ | $/g, "");
  const chars = Array.from(flat); // code points, as Python counts them
  return chars.length <= MAX_ERROR ? flat : chars.slice(0, MAX_ERROR - 1).join("") + "…";
}

/**
 * `reasons.reason`: why an `error` task ended, its `meta.error`, else its `meta.signal`; "" otherwise.
 * @param {object} task
 * @returns {string}
 */
export function reasonOf(task) {
  const meta = task.meta !== null && typeof task.meta === "object" && !Array.isArray(task.meta) ? task.meta : {};
  if (task.status !== "error") return "";
  return reasonText(meta.error) || reasonText(meta.signal);
}

// ---------------------------------------------------------------- history (protocol/history.py)

/** `history.META_KEY`: the meta key a client sets (`key=`) to name a task across runs. */
export const META_KEY = "key";
/** `history.SLOW_FACTOR`: how many times its usual duration a task runs before it is slower than usual. */
export const SLOW_FACTOR = 1.5;
/** `history.USUAL_FIELD`: the field an open task whose key has history carries. */
export const USUAL_FIELD = "usual_duration";
const OPEN = new Set(["start", "update", "stale"]); // history.py's _OPEN
const MAX_KEY = 256; // history.py's _MAX_KEY, in code points
// Python's str.isdigit(): every decimal digit (Nd) and the other digits (superscripts, circled…), Unicode 14.
const DIGIT =
  /[\p{Nd}\u00b2\u00b3\u00b9\u1369-\u1371\u19da\u2070\u2074-\u2079\u2080-\u2089\u2460-\u2468\u2474-\u247c\u2488-\u2490\u24ea\u24f5-\u24fd\u24ff\u2776-\u277e\u2780-\u2788\u278a-\u2792\u{10a40}-\u{10a43}\u{10e60}-\u{10e68}\u{11052}-\u{1105a}\u{1f100}-\u{1f10a}]/u;
// Python's str.strip(): what str.isspace() holds (not JavaScript's trim(), which also strips U+FEFF and keeps U+001C–1F, U+0085).
const SPACE = "[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const EDGES = new RegExp(`^${SPACE}+|${SPACE}+$`, "gu");
const cut = (s, n) => Array.from(s).slice(0, n).join(""); // code points, as Python slices

/**
 * `history.task_key`: the key a task keeps from run to run: `meta.key`, else its id with the trailing
 * `-` parts that hold a digit removed from its group prefix (`nightly-2026-12-01:load` → `nightly:load`),
 * else (no group) the id itself.
 * @param {string} taskId
 * @param {unknown} meta
 * @returns {string}
 */
export function taskKey(taskId, meta) {
  const given = meta !== null && typeof meta === "object" && !Array.isArray(meta) && Object.hasOwn(meta, META_KEY)
    ? meta[META_KEY] : undefined;
  if (typeof given === "string") {
    const trimmed = given.replace(EDGES, "");
    if (trimmed) return cut(trimmed, MAX_KEY);
  }
  const colon = taskId.indexOf(":");
  if (colon <= 0 || colon === taskId.length - 1) return taskId;
  const parts = taskId.slice(0, colon).split("-");
  while (parts.length > 1 && DIGIT.test(parts[parts.length - 1])) parts.pop();
  return cut(`${parts.join("-")}:${taskId.slice(colon + 1)}`, MAX_KEY);
}

/**
 * `history.slower_than_usual` (as `cards.is_slow` applies it: numbers only, never a bool): an open
 * (start, update, stale) task with a usual duration > 0 that has run more than SLOW_FACTOR times it by `now`.
 * @param {object} task
 * @param {number} now  server clock, unix seconds
 * @returns {boolean}
 */
export function slowerThanUsual(task, now) {
  const expected = task[USUAL_FIELD];
  const started = task.created_at;
  if (!OPEN.has(task.status) || typeof expected !== "number" || !Number.isFinite(expected) || expected <= 0) {
    return false;
  }
  return typeof started === "number" && Number.isFinite(started) && now - started > SLOW_FACTOR * expected;
}
