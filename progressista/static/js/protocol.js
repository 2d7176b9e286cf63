/**
 * The contract's names, as `progressista/protocol/statuses.py`, `groups.py` and `reasons.py` define them.
 *
 * Only what the dashboard draws with: which column a status goes to, how it
 * reads, how group members are counted, which tasks form a group, and why a
 * task failed. The group figures themselves, and which member is a group's
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
