/**
 * How task text is shown: `progressista/protocol/text.py`, rule for rule.
 *
 * Control characters, lone surrogates, line and paragraph separators and
 * invisible format characters (bidirectional overrides, zero-width spaces…)
 * in what a client sent become visible `<U+XXXX>` markers, so a task cannot
 * pass for another (`etl:lo<U+200B>ad` is not `etl:load`), and the page says
 * what the terminal says. `shownText` is for descriptions, units, postfixes,
 * hosts, meta values and reasons (a tab is a space; the zero-width joiners stay);
 * `shownId` for task ids and group prefixes (tab, joiners, spaces other than
 * U+0020 and blank letters are markers too). The cases in
 * `protocol/text_cases.json` run against both sides (`tests/test_format_js.py`).
 *
 * @module text
 */

// text.py's _TEXT_MARKED categories; the joiners (JOINERS) and the tab are let through by `textChar`.
const TEXT_MARKED = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
// The same, with every space (U+0020 is let through by `idChar`) and text.py's INVISIBLE_EXTRAS.
const ID_MARKED =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Zs}\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0\u{e0100}-\u{e01ef}]/gu;
const JOINERS = new Set(["\u200c", "\u200d"]);

/**
 * `text.marker`: how a character that may not be shown as itself is shown, `<U+001B>`.
 * @param {string} char  one code point
 * @returns {string}
 */
export function marker(char) {
  return `<U+${char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}>`;
}

const textChar = (char) => (char === "\t" ? " " : JOINERS.has(char) ? char : marker(char));
const idChar = (char) => (char === " " ? char : marker(char));

/**
 * `text.shown_text`: a desc, unit, postfix, host, meta value or reason as every dashboard shows it.
 * @param {string} text
 * @returns {string}
 */
export function shownText(text) {
  return text.replace(TEXT_MARKED, textChar);
}

/**
 * `text.shown_id`: a task id (or group prefix) as every dashboard shows it.
 * @param {string} taskId
 * @returns {string}
 */
export function shownId(taskId) {
  return taskId.replace(ID_MARKED, idChar);
}
