/**
 * A long column drawn in part: only the cards in view, and a margin either
 * side (OVERSCAN_PX), are in the DOM; spacers stand for the rest, so the
 * scrollbar keeps the whole column's length. Changes to the tasks out of view
 * cost bookkeeping only (board.js keeps their views; cards.js builds a card
 * the first time it is drawn).
 *
 * A column is a list of entries, as board.js places them: a card
 * (`{view}`), or a group row with its member cards (`{row, members, folded}`).
 * Each has a height: measured once drawn (at this column's width), else the
 * last height measured of its kind. Runs of entries out of view become one
 * spacer each, at the top level and inside a group's body alike, whose height
 * is what they would take (gaps included), so the cards drawn sit exactly
 * where they would in the whole column.
 *
 * Drawn again on scroll and resize (in an animation frame), and by every
 * layout, and when the focus moves onto a card (Tab walks on down the
 * column). The card holding the keyboard focus stays drawn wherever it
 * scrolls. Cards carry `aria-posinset` / `aria-setsize`, so a screen reader
 * still hears "3 of 10,000".
 *
 * @module windowing
 */

import { el } from "./dom.js";

/** A column with more entries than this (cards and rows, folded members not counted) is windowed. */
export const WINDOW_THRESHOLD = 300;
/** How far beyond the visible part, above and below, cards are drawn. */
export const OVERSCAN_PX = 600;
const ESTIMATE = { card: 118, head: 90 }; // before anything was measured (cards.css's contain-intrinsic-size)
const PASSES = 3; // a draw redone while measuring moves things (estimates replaced by heights)

/**
 * How many entries a column's list holds, as windowing counts them.
 * @param {object[]} entries
 * @returns {number}
 */
export const entryCount = (entries) => entries.reduce(
  (sum, entry) => sum + 1 + (entry.row && !entry.folded ? entry.members.length : 0), 0,
);

/**
 * Set (or, with `position` null, drop) a card's place in its list for assistive technology.
 * @param {object} view  a card view
 * @param {number | null} position  1-based
 * @param {number} [size]
 */
export function setPosition(view, position, size) {
  const key = position === null ? null : `${position}/${size}`;
  if (view.cache.position === key || view.el === null) return;
  if (position === null) {
    if (view.cache.position === undefined) return;
    view.el.removeAttribute("aria-posinset");
    view.el.removeAttribute("aria-setsize");
    delete view.cache.position;
    return;
  }
  view.cache.position = key;
  view.el.setAttribute("aria-posinset", String(position));
  view.el.setAttribute("aria-setsize", String(size));
}

function spacer() {
  const node = el("div", "spacer");
  node.setAttribute("aria-hidden", "true");
  node.dataset.testid = "spacer";
  return node;
}

// A container's spacers, made once and reused: the k-th run out of view gets the k-th.
function spacerAt(pool, k, height) {
  if (pool.length <= k) pool.push(spacer());
  const node = pool[k];
  const value = `${height}px`;
  if (node.style.height !== value) node.style.height = value;
  return node;
}

const gapOf = (node) => parseFloat(getComputedStyle(node).rowGap) || 0;

/** One column's window: its scrolling body, and the entries it shows. */
export class ColumnWindow {
  /**
   * @param {HTMLElement} body  the column's scrolling list
   * @param {(view: object) => HTMLElement} draw  a card view's element, built and up to date
   */
  constructor(body, draw) {
    this.body = body;
    this.draw = draw;
    this.entries = null; // null: the column is drawn whole (board.js), not windowed
    this.spacers = [];
    this.estimate = { ...ESTIMATE };
    this.gaps = null; // body, group (head to body) and group body, read from the CSS
    this.queued = false;
    const later = () => this.schedule();
    body.addEventListener("scroll", later, { passive: true });
    // Tab onto a card scrolls it in: draw the ones after it at once, so the next Tab finds them.
    body.addEventListener("focusin", () => {
      if (this.entries !== null) this.drawWindow();
    });
    new ResizeObserver(later).observe(body);
  }

  /**
   * Show `entries` (windowed), or stop windowing (`null`: board.js draws the column whole).
   * @param {object[] | null} entries
   */
  show(entries) {
    const was = this.entries;
    this.entries = entries;
    this.body.classList.toggle("windowed", entries !== null);
    if (entries !== null) this.drawWindow();
    else if (was !== null) for (const entry of was) this.forget(entry);
  }

  forget(entry) {
    if (!entry.row) setPosition(entry.view, null);
    else for (const member of entry.members) setPosition(member.view, null);
  }

  schedule() {
    if (this.queued || this.entries === null) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      if (this.entries !== null) this.drawWindow();
    });
  }

  height(kind, owner, width) {
    return owner.heightWidth === width ? owner.height : this.estimate[kind];
  }

  // Every entry's and member's top and bottom, from the heights known (content coordinates).
  place(width) {
    const gaps = this.gaps;
    let y = 0;
    this.entries.forEach((entry, i) => {
      if (i) y += gaps.body;
      entry.top = y;
      if (!entry.row) {
        y += this.height("card", entry.view, width);
      } else {
        y += this.height("head", entry.row, width);
        entry.headBottom = y;
        if (!entry.folded && entry.members.length) {
          y += gaps.group;
          entry.members.forEach((member, j) => {
            if (j) y += gaps.member;
            member.top = y;
            y += this.height("card", member.view, width);
            member.bottom = y;
          });
        }
      }
      entry.bottom = y;
    });
    return y;
  }

  /** Draw the entries in view (and the focused card), spacers for the rest; measure what was drawn. */
  drawWindow() {
    const body = this.body;
    if (this.gaps === null || this.gaps.body === 0) {
      const row = this.entries.find((entry) => entry.row)?.row;
      this.gaps = {
        body: gapOf(body),
        group: row ? gapOf(row.el) : 6,
        member: row ? gapOf(row.body) : 6,
      };
    }
    const focused = document.activeElement instanceof Element && body.contains(document.activeElement)
      ? document.activeElement.closest(".card, .group") : null;
    for (let pass = 0; pass < PASSES; pass += 1) {
      const width = body.clientWidth;
      this.place(width);
      const padding = parseFloat(getComputedStyle(body).paddingTop) || 0;
      const top = body.scrollTop - padding - OVERSCAN_PX;
      const bottom = body.scrollTop - padding + body.clientHeight + OVERSCAN_PX;
      const drawn = this.build(top, bottom, focused);
      if (body.clientHeight === 0 || !this.measure(drawn, width)) break; // hidden (a narrow screen's other tab): nothing to measure
    }
  }

  build(top, bottom, focused) {
    const nodes = [];
    const drawn = [];
    const size = this.entries.length;
    let run = null; // [top, bottom] of the entries out of view since the last one drawn
    let spacers = 0;
    this.entries.forEach((entry, i) => {
      const inView = entry.bottom >= top && entry.top <= bottom;
      const holds = focused !== null && (entry.row ? focused === entry.row.el || entry.row.el.contains(focused)
        : focused === entry.view.el);
      if (!inView && !holds) {
        run = run === null ? [entry.top, entry.bottom] : [run[0], entry.bottom];
        return;
      }
      if (run !== null) nodes.push(spacerAt(this.spacers, spacers++, run[1] - run[0]));
      run = null;
      if (!entry.row) {
        nodes.push(this.draw(entry.view));
        setPosition(entry.view, i + 1, size);
        drawn.push(entry.view);
        return;
      }
      nodes.push(entry.row.el);
      drawn.push(entry.row);
      this.buildBody(entry, top, bottom, focused, drawn);
    });
    if (run !== null) nodes.push(spacerAt(this.spacers, spacers, run[1] - run[0]));
    reconcileNodes(this.body, nodes);
    return drawn;
  }

  // A group row's members: those in view, the focused one, spacers between.
  buildBody(entry, top, bottom, focused, drawn) {
    const row = entry.row;
    row.spacers ??= [];
    const nodes = [];
    if (!entry.folded) {
      const size = entry.members.length;
      let run = null;
      let spacers = 0;
      entry.members.forEach((member, j) => {
        const inView = member.bottom >= top && member.top <= bottom;
        if (!inView && !(focused !== null && focused === member.view.el)) {
          run = run === null ? [member.top, member.bottom] : [run[0], member.bottom];
          return;
        }
        if (run !== null) nodes.push(spacerAt(row.spacers, spacers++, run[1] - run[0]));
        run = null;
        nodes.push(this.draw(member.view));
        setPosition(member.view, j + 1, size);
        drawn.push(member.view);
      });
      if (run !== null) nodes.push(spacerAt(row.spacers, spacers, run[1] - run[0]));
    }
    reconcileNodes(row.body, nodes);
  }

  // Remember the heights of what was drawn; whether any differs from what its place assumed.
  measure(drawn, width) {
    let moved = false;
    for (const owner of drawn) {
      const card = owner.head === undefined;
      const node = card ? owner.el : owner.head;
      const height = node.getBoundingClientRect().height;
      if (owner.heightWidth !== width || Math.abs(owner.height - height) > 0.5) {
        if (Math.abs(this.height(card ? "card" : "head", owner, width) - height) > 0.5) moved = true;
        owner.height = height;
        owner.heightWidth = width;
      }
      this.estimate[card ? "card" : "head"] = height;
    }
    return moved;
  }

  /**
   * Scroll task `id`'s card (or the row it is the run of) into the middle of the
   * column and draw it; its element, or null when this column does not list it.
   * @param {string} id
   * @param {() => void} showing  called once found, before scrolling (the column must be on screen)
   * @returns {HTMLElement | null}
   */
  reveal(id, showing) {
    if (this.entries === null || this.find(id) === null) return null;
    showing();
    // Placed again after each draw: what it measured may move the card (estimates become heights).
    for (let pass = 0; pass < PASSES; pass += 1) {
      this.place(this.body.clientWidth);
      const found = this.find(id);
      const padding = parseFloat(getComputedStyle(this.body).paddingTop) || 0;
      const middle = (found.top + found.bottom) / 2 + padding;
      this.body.scrollTop = Math.max(0, middle - this.body.clientHeight / 2);
      this.drawWindow();
      const node = found.node();
      if (node !== null && node.isConnected) return node;
    }
    return null;
  }

  // Where task `id` is listed, as last placed: its card, or the row it is the run of; null if not listed.
  find(id) {
    for (const entry of this.entries) {
      if (!entry.row) {
        if (entry.view.id === id) return { top: entry.top, bottom: entry.bottom, node: () => entry.view.el };
      } else if (entry.row.runId === id) {
        return { top: entry.top, bottom: entry.headBottom, node: () => entry.row.el };
      } else if (!entry.folded) {
        const member = entry.members.find((m) => m.view.id === id);
        if (member) return { top: member.top, bottom: member.bottom, node: () => member.view.el };
      }
    }
    return null;
  }
}

// dom.js's reconcile, but dropping the nodes that go first: a window moved by a card then moves none of the rest.
function reconcileNodes(parent, nodes) {
  const keep = new Set(nodes);
  for (let node = parent.firstChild; node !== null;) {
    const next = node.nextSibling;
    if (!keep.has(node)) parent.removeChild(node);
    node = next;
  }
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(node, cursor);
  }
}
