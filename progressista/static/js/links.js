/**
 * Links to one task: `index.html#task=ID` (the id URI-encoded, `taskLink`)
 * scrolls the page to the task's card and outlines it for a few seconds, or
 * until the next click: whether the task is on the page already, arrives
 * with the first snapshot or later, or the address's hash changes.
 *
 * This module only remembers which task is wanted and lights its element;
 * `main.js` asks `wantedTask()` after each render and, once `board.js` has
 * placed the card, calls `highlight`.
 *
 * @module links
 */

const PREFIX = "#task=";
const HIGHLIGHT_MS = 6000;
const LIT = "linked";

let wanted = readHash();
let lit = null;
let timer = 0;

function readHash() {
  if (!location.hash.startsWith(PREFIX)) return null;
  try {
    return decodeURIComponent(location.hash.slice(PREFIX.length)) || null;
  } catch (_) {
    return null; // a malformed escape links to nothing
  }
}

/**
 * The address of task `id`'s link, relative to the page.
 * @param {string} id
 * @returns {string}
 */
export const taskLink = (id) => PREFIX + encodeURIComponent(id);

/**
 * The task the address links to and that is not shown yet, or null.
 * @returns {string | null}
 */
export const wantedTask = () => wanted;

/** Stop looking for the linked task (it is shown, or cannot be). */
export function found() {
  wanted = null;
}

/**
 * Call `changed` when the address's hash links to another task.
 * @param {() => void} changed
 */
export function onLink(changed) {
  window.addEventListener("hashchange", () => {
    wanted = readHash();
    if (wanted !== null) changed();
  });
}

function unlight() {
  clearTimeout(timer);
  if (lit) lit.classList.remove(LIT);
  lit = null;
}

/**
 * Scroll to `node` and outline it until HIGHLIGHT_MS pass or the page is clicked.
 * @param {HTMLElement} node
 */
export function highlight(node) {
  unlight();
  found();
  lit = node;
  node.classList.add(LIT);
  // A group row (the run a link names) is centred on its head: the row of a long group is taller than the screen.
  const anchor = node.querySelector(":scope > .group-head") ?? node;
  anchor.scrollIntoView({ block: "center", inline: "nearest" });
  // Cards off screen are laid out at an estimated height (content-visibility): look again once drawn.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    if (lit === node) anchor.scrollIntoView({ block: "center", inline: "nearest" });
  }));
  timer = setTimeout(unlight, HIGHLIGHT_MS);
}

document.addEventListener("pointerdown", unlight);
