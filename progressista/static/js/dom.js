/**
 * Small DOM helpers every view uses. Untrusted text only ever goes into
 * `textContent` or attribute values: nothing here parses HTML.
 *
 * @module dom
 */

/**
 * A new element with a class and, optionally, its text.
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [content]
 * @returns {HTMLElement}
 */
export function el(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

/**
 * `el()` with a `data-testid`, for the parts the tests (and people) look at.
 * @param {string} tag
 * @param {string} className
 * @param {string} testid
 * @returns {HTMLElement}
 */
export function part(tag, className, testid) {
  const node = el(tag, className);
  node.dataset.testid = testid;
  return node;
}

/**
 * A progress bar (`role="progressbar"`, 0–100) and its fill, as `[bar, fill]`.
 * @param {string} tag
 * @param {string} className  the bar's class; the fill's is `${className}-fill`
 * @returns {[HTMLElement, HTMLElement]}
 */
export function progressBar(tag, className) {
  const bar = el(tag, className);
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  const fill = el(tag, className + "-fill");
  bar.append(fill);
  return [bar, fill];
}

/**
 * Fill a bar to `share` (0–1); null leaves it empty and drops `aria-valuenow`.
 * @param {HTMLElement} bar
 * @param {HTMLElement} fill
 * @param {number | null} share
 */
export function setBar(bar, fill, share) {
  if (share === null) {
    fill.style.transform = "";
    bar.removeAttribute("aria-valuenow");
  } else {
    fill.style.transform = `scaleX(${share})`;
    bar.setAttribute("aria-valuenow", String(Math.floor(share * 100)));
  }
}

/**
 * Write text only when it changed (`view.cache[key]` remembers it); empty text hides the node.
 * @param {{cache: object}} view
 * @param {string} key
 * @param {HTMLElement} node
 * @param {string} value
 */
export function put(view, key, node, value) {
  if (view.cache[key] === value) return;
  view.cache[key] = value;
  node.textContent = value;
  node.hidden = value === "";
}

/**
 * Make `parent`'s children exactly `nodes`, in order, moving as few as possible.
 * @param {Node} parent
 * @param {Node[]} nodes
 */
export function reconcile(parent, nodes) {
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextSibling;
    parent.removeChild(cursor);
    cursor = next;
  }
}

/**
 * `s` cut to `n` characters, with an ellipsis when cut.
 * @param {string} s
 * @param {number} n
 * @returns {string}
 */
export const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

/**
 * A value as text: "" for null and undefined.
 * @param {unknown} value
 * @returns {string}
 */
export function text(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : String(value);
}

/**
 * A plain object (not null, not an array)?
 * @param {unknown} value
 * @returns {boolean}
 */
export const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
