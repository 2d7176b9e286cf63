/**
 * The filter kept in the page address, as `?q=` (`index.html?q=status:error`), so a
 * reload, a bookmark or a shared link opens on the same filter.
 *
 * Only `q` is touched: the rest of the query and the hash (`#task=ID`, links.js)
 * are kept as they are; `auth.js` has dropped `?token=` before this runs. The
 * address is replaced, not pushed: typing does not fill the history.
 *
 * @module address
 */

const PARAM = "q";

/**
 * The filter the address carries ("" for none).
 * @returns {string}
 */
export function filterInAddress() {
  return new URL(location.href).searchParams.get(PARAM) ?? "";
}

/**
 * Put `value` in the address (or drop `?q=` when it is empty).
 * @param {string} value
 */
export function keepFilter(value) {
  const url = new URL(location.href);
  const trimmed = value.trim();
  if ((url.searchParams.get(PARAM) ?? "") === trimmed) return;
  if (trimmed) url.searchParams.set(PARAM, trimmed);
  else url.searchParams.delete(PARAM);
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}
