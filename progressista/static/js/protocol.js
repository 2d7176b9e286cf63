/**
 * The contract's names, as `progressista/protocol/statuses.py` and `groups.py` define them.
 *
 * Only what the dashboard draws with: which column a status goes to, how it
 * reads, how group members are counted, and which tasks form a group. The
 * group figures themselves come from the server (`/ws` `groups`), never from here.
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
