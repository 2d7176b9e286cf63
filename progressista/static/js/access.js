/**
 * What the page's token may do, as `GET /access` says, and the read-only mode.
 *
 * A token that cannot `admin` gets no discard or clear controls (every
 * `.admin-only` element, hidden by `body.read-only`) and a "read-only" marker
 * in the header; the server refuses those requests anyway (403), so this only
 * keeps the page from offering what would fail. Until the first answer the
 * controls are kept out of sight (`body[data-access="pending"]`), so a read
 * token never sees them flash; when the server cannot say (an older server
 * without `/access`, the network, a rejected token) the page offers everything,
 * as it always did.
 *
 * @module access
 */

import { request } from "./api.js";

const ASK_TIMEOUT_MS = 5000;
const marker = document.getElementById("read-only");

let admin = true;
let asking = 0; // the latest ask wins

/**
 * Whether this page may discard and clear (true until the server says otherwise).
 * @returns {boolean}
 */
export const canAdmin = () => admin;

function answerOrTimeout() {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer")), ASK_TIMEOUT_MS);
  });
  return Promise.race([request("GET", "access"), late]).finally(() => clearTimeout(timer));
}

/**
 * Ask the server what this token may do, and show or hide the admin controls.
 * The first ask hides them until it is answered; later ones (after a reconnect,
 * a new token) keep what is shown until the answer.
 * @returns {Promise<void>}
 */
export async function checkAccess() {
  const ask = ++asking;
  if (!document.body.dataset.access) document.body.dataset.access = "pending";
  let can = null;
  try {
    const answer = await answerOrTimeout();
    if (answer && Array.isArray(answer.can)) can = answer.can;
  } catch (_) { /* cannot say: behave as before roles */ }
  if (ask !== asking) return;
  admin = can === null || can.includes("admin");
  document.body.dataset.access = can === null ? "unknown" : admin ? "admin" : "read-only";
  document.body.classList.toggle("read-only", !admin);
  marker.hidden = admin;
}
