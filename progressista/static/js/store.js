/**
 * What the page knows: tasks by id and the server's group aggregates by
 * prefix, as the feed last described them, and which of them changed since
 * the last render. Messages only touch this; the views read it.
 *
 * @module store
 */

import { isObject } from "./dom.js";

/** task_id → task. */
export const tasks = new Map();
/** prefix → aggregate, exactly as the server computed it (`GET /groups`' rows). */
export const groups = new Map();
/** Task ids whose card needs a look. */
export const dirtyTasks = new Set();
/** Group prefixes whose rows need a look. */
export const dirtyGroups = new Set();

function replace(map, dirty, found) {
  for (const key of map.keys()) {
    if (!Object.hasOwn(found, key)) {
      map.delete(key);
      dirty.add(key);
    }
  }
  merge(map, dirty, found);
}

function merge(map, dirty, found) {
  for (const [key, value] of Object.entries(found)) {
    if (isObject(value)) {
      map.set(key, value);
      dirty.add(key);
    }
  }
}

function drop(map, dirty, keys) {
  for (const key of keys) if (map.delete(key)) dirty.add(key);
}

/**
 * Apply one feed message (as `feed.parseFeedMessage` reads it): a snapshot
 * (`removed` null) replaces everything, a delta changes what it names.
 * A snapshot without `groups` (an older server) leaves no group rows.
 * @param {{tasks: object, removed: string[] | null, groups: object | null, groupsRemoved: string[]}} update
 */
export function apply(update) {
  if (update.removed === null) {
    replace(tasks, dirtyTasks, update.tasks);
    replace(groups, dirtyGroups, update.groups || {});
    return;
  }
  drop(tasks, dirtyTasks, update.removed);
  merge(tasks, dirtyTasks, update.tasks);
  drop(groups, dirtyGroups, update.groupsRemoved);
  if (update.groups) merge(groups, dirtyGroups, update.groups);
}

/**
 * Drop a task the page removed itself (its group's row follows with the server's next delta).
 * @param {string} id
 * @returns {boolean} whether it was known
 */
export function forget(id) {
  if (!tasks.delete(id)) return false;
  dirtyTasks.add(id);
  return true;
}

/** Forget everything (the server refused this page). */
export function clear() {
  drop(tasks, dirtyTasks, [...tasks.keys()]);
  drop(groups, dirtyGroups, [...groups.keys()]);
}
