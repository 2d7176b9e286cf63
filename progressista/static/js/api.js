/**
 * The server's REST API and addresses, relative to the page (so the dashboard
 * also works behind a path prefix), and the server's clock.
 *
 * @module api
 */

import { currentToken } from "./auth.js";

const apiBase = new URL("..", location.href);

/** A failed request: `status` 0 means no answer at all. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} detail
   */
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

/**
 * Call the API with the page's token; the parsed JSON body, or throws an `ApiError`.
 * @param {string} method
 * @param {string} path  relative to the server root, e.g. "tasks?status=completed"
 * @param {unknown} [body]  sent as JSON (a POST's events)
 * @returns {Promise<any>}
 */
export async function request(method, path, body) {
  const url = new URL(path, apiBase);
  const headers = { Accept: "application/json" };
  // The server refuses a POST or DELETE without it (415): that is what tells it from a form on another site.
  if (method !== "GET") headers["Content-Type"] = "application/json";
  const token = currentToken();
  if (token) {
    // fetch() refuses header values outside Latin-1; fall back to the query.
    if (/^[\x20-\x7e]*$/.test(token)) headers.Authorization = "Bearer " + token;
    else url.searchParams.set("token", token);
  }
  let response;
  try {
    const init = { method, headers, cache: "no-store", referrerPolicy: "no-referrer" };
    if (body !== undefined) init.body = JSON.stringify(body);
    response = await fetch(url, init);
  } catch (_) {
    throw new ApiError(0, "network error, the server did not answer");
  }
  let answer = null;
  try { answer = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const detail = answer && typeof answer.detail === "string" ? answer.detail : response.statusText;
    throw new ApiError(response.status, detail || "request failed");
  }
  return answer;
}

/**
 * A failed request as one line a person can act on.
 * @param {unknown} err
 * @returns {string}
 */
export function describeFailure(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  if (err.status === 403) return `${err.detail} (403)`; // a token of another role: the server names the one needed
  if (err.status === 401) {
    return `Unauthorized — token rejected (${err.status}). Open the dashboard with ?token=<token>.`;
  }
  if (err.status === 0) return "network error: the server is unreachable.";
  return `${err.status}: ${err.detail}`;
}

/**
 * The live feed's address: `/ws?mode=delta`, with the token in the query.
 * @returns {string}
 */
export function feedUrl() {
  const url = new URL("ws", apiBase);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("mode", "delta");
  const token = currentToken();
  if (token) url.searchParams.set("token", token);
  return url.href;
}

// Ages are measured on the server clock (updated_at); the offset is estimated
// from the HTTP Date header and only applied when the clocks clearly disagree.
let clockSkew = 0;

/** Re-estimate the server clock's offset from `GET /health`'s Date header. */
export async function syncClock() {
  try {
    const before = Date.now();
    const response = await fetch(new URL("health", apiBase), { cache: "no-store", referrerPolicy: "no-referrer" });
    const after = Date.now();
    const date = Date.parse(response.headers.get("date") || "");
    if (!Number.isNaN(date)) {
      const skew = date + 500 - (before + after) / 2; // Date has one-second resolution
      clockSkew = Math.abs(skew) > 2000 ? skew / 1000 : 0;
    }
  } catch (_) { /* keep the previous estimate */ }
}

/**
 * Now on the server's clock, in unix seconds.
 * @returns {number}
 */
export const serverNow = () => Date.now() / 1000 + clockSkew;
