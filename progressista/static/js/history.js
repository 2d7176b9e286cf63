/**
 * The History view: `#history=KEY` (a card's History link) opens a dialog with
 * the recent runs of that key (`GET history?key=`, read role): how long it
 * usually takes, a small sparkline of the runs' durations (inline SVG, one
 * point per run, oldest left) and a table of them (ended, outcome, duration,
 * n/total, host, error). `#history=` alone shows every key's recent runs, a
 * table per key. Esc, the close button or a click outside close it and drop
 * the hash. All run text goes through `shownText`/`shownId` into textContent.
 *
 * `probeHistory()` asks once per connection whether the server keeps history;
 * only then do the cards show their History link (`body.history-on`).
 *
 * @module history
 */

import { describeFailure, request, serverNow } from "./api.js";
import { el, isObject, part, text } from "./dom.js";
import { finite, formatAge, formatAmount, formatDuration, formatRate } from "./format.js";
import { reasonText, STATUS_LABELS } from "./protocol.js";
import { shownId, shownText } from "./text.js";

const PREFIX = "#history=";
const LIMIT = 50; // runs asked for per view
const SVG = "http://www.w3.org/2000/svg";
const SPARK = { width: 240, height: 44, pad: 5 };
const HEADINGS = ["Ended", "Outcome", "Duration", "Done", "Host", "Error"];

const dialog = buildDialog();
let asked = 0; // the newest request: an older answer arriving late is dropped

function buildDialog() {
  const root = /** @type {HTMLDialogElement} */ (part("dialog", "history", "history"));
  root.setAttribute("aria-labelledby", "history-title");
  const head = el("header", "history-head");
  const title = part("h2", "history-title", "history-title");
  title.id = "history-title";
  const close = part("button", "icon-btn history-close", "history-close");
  close.type = "button";
  close.textContent = "×";
  close.title = "Close (Esc)";
  close.setAttribute("aria-label", "Close history");
  head.append(title, close);
  const body = part("div", "history-body", "history-body");
  root.append(head, body);
  document.body.append(root);
  close.addEventListener("click", () => root.close());
  root.addEventListener("click", (event) => {
    if (event.target === root) root.close(); // the backdrop
  });
  root.addEventListener("close", () => {
    asked += 1;
    if (location.hash.startsWith(PREFIX)) {
      window.history.replaceState(window.history.state, "", location.pathname + location.search);
    }
  });
  return { root, title, body };
}

/**
 * The address of the History view of `key`, relative to the page.
 * @param {string} key
 * @returns {string}
 */
export const historyLink = (key) => PREFIX + encodeURIComponent(key);

function wantedKey() {
  if (!location.hash.startsWith(PREFIX)) return null;
  try {
    return decodeURIComponent(location.hash.slice(PREFIX.length));
  } catch (_) {
    return null; // a malformed escape opens nothing
  }
}

/** Ask the server whether it keeps history; cards show their History link only if it does. */
export async function probeHistory() {
  try {
    const answer = await request("GET", "history?limit=1");
    document.body.classList.toggle("history-on", Boolean(answer && answer.enabled));
  } catch (_) { /* unknown: leave the links as they are */ }
}

async function show(key) {
  const ticket = ++asked;
  dialog.title.textContent = key ? `History · ${shownId(key)}` : "History";
  dialog.body.replaceChildren(el("p", "history-note", "Loading…"));
  if (!dialog.root.open) dialog.root.showModal();
  const query = new URLSearchParams({ limit: String(LIMIT) });
  if (key) query.set("key", key);
  let answer;
  try {
    answer = await request("GET", "history?" + query);
  } catch (err) {
    if (ticket === asked) dialog.body.replaceChildren(el("p", "history-note", describeFailure(err)));
    return;
  }
  if (ticket !== asked) return;
  dialog.body.replaceChildren(...render(answer, key));
}

function render(answer, key) {
  const runs = isObject(answer) && Array.isArray(answer.runs) ? answer.runs.filter(isObject) : [];
  const usual = isObject(answer) && isObject(answer.usual) ? answer.usual : {};
  if (isObject(answer) && answer.enabled === false) {
    return [el("p", "history-note", "This server keeps no history (see PROGRESSISTA_HISTORY_PATH).")];
  }
  if (!runs.length) return [el("p", "history-note", key ? "No finished run of this key yet." : "No finished run yet.")];
  const byKey = new Map(); // newest first, as the server answers
  for (const run of runs) {
    const name = text(run.key);
    if (!byKey.has(name)) byKey.set(name, []);
    byKey.get(name).push(run);
  }
  return [...byKey].map(([name, list]) => section(name, list, isObject(usual[name]) ? usual[name] : null));
}

function section(key, runs, usual) {
  const root = part("section", "history-key", "history-key");
  root.dataset.key = key;
  root.append(el("h3", "history-key-name", shownId(key)));
  const unit = text(runs[0].unit) || "it";
  const said = part("p", "history-usual", "history-usual");
  const duration = usual ? finite(usual.duration) : null;
  if (duration === null) {
    said.textContent = "No successful run yet: no usual duration.";
  } else {
    const count = finite(usual.runs) ?? 0;
    const rate = formatRate(usual.rate, unit);
    said.textContent = `usual ${formatDuration(duration)} · median of the last ${count} successful run${count === 1 ? "" : "s"}`
      + (rate ? ` · ${shownText(rate)}` : "");
  }
  root.append(said, sparkline(runs), table(runs));
  return root;
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

// The runs' durations, oldest left, newest right, scaled to the tallest; a point per run, coloured by outcome.
function sparkline(runs) {
  const timed = runs.filter((run) => finite(run.duration) !== null).reverse();
  const { width, height, pad } = SPARK;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "sparkline", role: "img" });
  root.dataset.testid = "history-sparkline";
  root.setAttribute("aria-label", `Durations of the last ${timed.length} runs, oldest first`);
  if (!timed.length) return root;
  const durations = timed.map((run) => run.duration);
  const low = Math.min(...durations);
  const span = Math.max(...durations) - low;
  const step = timed.length > 1 ? (width - 2 * pad) / (timed.length - 1) : 0;
  const points = timed.map((run, i) => [
    timed.length > 1 ? pad + i * step : width / 2,
    span > 0 ? height - pad - ((run.duration - low) / span) * (height - 2 * pad) : height / 2,
  ]);
  if (points.length > 1) {
    root.append(svg("polyline", { points: points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "),
      class: "spark-line" }));
  }
  timed.forEach((run, i) => {
    const status = text(run.status);
    const dot = svg("circle", { cx: points[i][0].toFixed(1), cy: points[i][1].toFixed(1), r: 2.6,
      class: `spark-point spark-${Object.hasOwn(STATUS_LABELS, status) ? status : "close"}` });
    dot.dataset.testid = "history-point";
    const tip = svg("title", {});
    tip.textContent = `${formatDuration(run.duration)} · ${STATUS_LABELS[status] ?? shownText(status)}`;
    dot.append(tip);
    root.append(dot);
  });
  return root;
}

function table(runs) {
  const root = part("table", "history-table", "history-table");
  const head = el("tr");
  for (const name of HEADINGS) {
    const cell = el("th", "", name);
    cell.scope = "col";
    head.append(cell);
  }
  root.append(el("thead"), el("tbody"));
  root.tHead.append(head);
  const now = serverNow();
  for (const run of runs) {
    const row = part("tr", "history-run", "history-run");
    const status = text(run.status);
    row.dataset.status = status;
    row.title = shownId(text(run.task_id)) + (run.desc ? ` · ${shownText(text(run.desc))}` : "");
    const ended = finite(run.ended_at);
    const when = el("td", "run-ended", ended === null ? "" : formatAge(now - ended));
    if (ended !== null) when.title = new Date(ended * 1000).toLocaleString();
    const host = text(run.host) + (finite(run.pid) !== null ? ` · pid ${run.pid}` : "");
    const error = shownText(reasonText(run.error));
    const cells = [
      when,
      part("td", "run-outcome", "history-outcome"),
      el("td", "run-duration", formatDuration(run.duration)),
      el("td", "run-done", shownText(formatAmount(run.n, run.total, text(run.unit) || "it"))),
      el("td", "run-host", shownText(host)),
      el("td", "run-error", error),
    ];
    cells[1].textContent = STATUS_LABELS[status] ?? shownText(status);
    cells[5].title = error;
    row.append(...cells);
    root.tBodies[0].append(row);
  }
  return root;
}

function follow() {
  const key = wantedKey();
  if (key !== null) show(key);
  else if (dialog.root.open) dialog.root.close();
}

window.addEventListener("hashchange", follow);
follow();
