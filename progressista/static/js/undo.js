/**
 * Undoing a discard: the task's last state as the one event that brings it
 * back (`POST /progress`).
 *
 * Only the fields an event may carry (`protocol/task.py` `EVENT_FIELDS`, the
 * `Event` schema of `/openapi.json`), never the server's own (`created_at`,
 * `updated_at`, `seen_at`). "stale" and "lost" are the server's verdicts, not
 * statuses a client sends: such a task comes back running, and goes stale
 * again if it still makes no progress.
 *
 * @module undo
 */

import { isObject } from "./dom.js";

// EVENT_FIELDS but task_id and status, which eventOf sets itself.
const FIELDS = ["desc", "unit", "n", "total", "timestamp", "elapsed", "rate", "postfix", "meta", "seq", "host", "pid"];
// Fields the schema does not let be null.
const NOT_NULL = new Set(["n", "meta"]);
const SENDABLE = new Set(["start", "update", "close", "error"]);

/**
 * The event that re-creates task `id` as `task` was.
 * @param {string} id
 * @param {object} task  as the feed described it
 * @returns {object}
 */
export function eventOf(id, task) {
  const event = { task_id: id, status: SENDABLE.has(task.status) ? task.status : "update" };
  for (const key of FIELDS) {
    if (!Object.hasOwn(task, key) || task[key] === undefined) continue;
    const value = task[key];
    if (value === null ? NOT_NULL.has(key) : key === "meta" && !isObject(value)) continue;
    event[key] = value;
  }
  return event;
}
