/**
 * The `/ws?mode=delta` feed: its messages, its close codes, and how the page
 * reconnects, by the rules of `progressista/protocol/feed.py` (the terminal's
 * reader follows the same ones).
 *
 *     {"type": "snapshot", "tasks": {id: task}, "groups": {prefix: aggregate}}
 *     {"type": "delta", "tasks": {id: task}, "removed": [id], "groups": {prefix: aggregate}, "groups_removed": [prefix]}
 *
 * @module feed
 */

import { isObject } from "./dom.js";

/** The client or the server is done with the connection. */
export const NORMAL_CLOSURE = 1000;
/** Refused (a missing or wrong token, an origin the server does not allow): do not retry. */
export const POLICY_VIOLATION = 1008;
/** The server lost its store's change feed: reconnect for a fresh snapshot. */
export const SERVICE_RESTART = 1012;
/** The server dropped a client that fell behind: reconnect at once. */
export const TRY_AGAIN_LATER = 1013;

const SNAPSHOT_TIMEOUT_MS = 15000; // a socket that never delivers its snapshot is retried
const NO_SNAPSHOT = 4000; // an application close code of ours, for that case

/**
 * Delay before retry number `attempt` (1, 2, …): `first * factor ** (attempt - 1)`, capped, ±jitter (feed.py `Backoff`).
 */
export class Backoff {
  constructor({ first = 0.5, factor = 2, limit = 10, jitter = 0.1 } = {}) {
    Object.assign(this, { first, factor, limit, jitter });
  }

  /**
   * @param {number} attempt
   * @returns {number} seconds
   */
  delay(attempt) {
    const base = Math.min(this.limit, this.first * this.factor ** Math.max(0, attempt - 1));
    // Jitter spreads the reconnects of many dashboards after a server restart.
    return base * (1 + (Math.random() * 2 - 1) * this.jitter);
  }
}

/**
 * What the page does after the feed closed (feed.py `closing`).
 * @param {number} code
 * @returns {{refused: boolean, atOnce: boolean}}
 */
export function closing(code) {
  return { refused: code === POLICY_VIOLATION, atOnce: code === TRY_AGAIN_LATER || code === SERVICE_RESTART };
}

const strings = (value) => (Array.isArray(value) ? value.filter((item) => typeof item === "string") : []);

/**
 * Read a feed message (feed.py `parse_feed_message`); null for anything that is not one.
 * `removed` is null for a snapshot (it replaces everything); `groups` is null when the server sent none.
 * @param {string} raw
 * @returns {{tasks: object, removed: string[] | null, groups: object | null, groupsRemoved: string[]} | null}
 */
export function parseFeedMessage(raw) {
  let message;
  try {
    message = JSON.parse(raw);
  } catch (_) {
    return null;
  }
  if (!isObject(message) || !isObject(message.tasks)) return null;
  let groups = null;
  if (isObject(message.groups)) {
    groups = {};
    for (const [prefix, row] of Object.entries(message.groups)) if (isObject(row)) groups[prefix] = row;
  }
  if (message.type !== "delta") return { tasks: message.tasks, removed: null, groups, groupsRemoved: [] };
  return { tasks: message.tasks, removed: strings(message.removed), groups, groupsRemoved: strings(message.groups_removed) };
}

/**
 * One live connection to the feed, kept up: reconnects with the backoff, at
 * once after 1012/1013, never after 1008 until `resume()`.
 *
 * Callbacks: `onUpdate(update)` for each message (as `parseFeedMessage` reads
 * it), `onState(state)` with "connecting", "connected" (a snapshot arrived) or
 * "disconnected", and `onRefused(reason)` for a 1008 close.
 */
export class Feed {
  /**
   * @param {{url: () => string, onUpdate: Function, onState: Function, onRefused: Function}} options
   */
  constructor({ url, onUpdate, onState, onRefused }) {
    Object.assign(this, { url, onUpdate, onState, onRefused });
    this.backoff = new Backoff();
    this.socket = null;
    this.timer = 0;
    this.attempts = 0;
    this.stopped = false; // refused: wait to be told
  }

  /** Open the connection, unless one is open or the server refused us. */
  connect() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.stopped || this.socket) return;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (_) {
      this.retry(false);
      return;
    }
    this.socket = ws;
    let synced = false;
    const watchdog = setTimeout(() => {
      if (this.socket === ws && !synced) ws.close(NO_SNAPSHOT, "no snapshot");
    }, SNAPSHOT_TIMEOUT_MS);
    ws.onmessage = (event) => {
      if (this.socket !== ws) return;
      const update = parseFeedMessage(event.data);
      if (!update) return;
      if (update.removed === null) { // a snapshot: in sync
        synced = true;
        this.attempts = 0;
        this.onState("connected");
      }
      this.onUpdate(update);
    };
    ws.onclose = (event) => {
      clearTimeout(watchdog);
      if (this.socket !== ws) return;
      this.socket = null;
      const next = closing(event.code);
      if (next.refused) {
        this.stopped = true;
        this.onRefused(event.reason);
      } else {
        this.retry(next.atOnce);
      }
    };
  }

  retry(atOnce) {
    this.onState("disconnected");
    if (this.stopped || this.timer) return;
    this.attempts = Math.min(this.attempts + 1, 16);
    const delay = atOnce ? 0 : this.backoff.delay(this.attempts) * 1000;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Reconnect now (back online, tab visible again) unless connected or refused. */
  reconnectSoon() {
    if (!this.stopped && !this.socket) {
      this.attempts = 0;
      this.connect();
    }
  }

  /** After a refusal, try again (with a new token). */
  resume() {
    this.stopped = false;
    this.attempts = 0;
    this.onState("connecting");
    this.connect();
  }

  /** Close without reconnecting (the page is going away; `reconnectSoon()` reopens). */
  close() {
    const ws = this.socket;
    this.socket = null;
    if (ws) ws.close(NORMAL_CLOSURE, "page closed");
  }
}
