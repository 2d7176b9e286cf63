/**
 * The dashboard's token and the panel shown when the server refuses the feed.
 *
 * The token (`?token=`) is read once, dropped from the address bar (it would
 * otherwise sit in history and screenshots), kept in sessionStorage for reloads;
 * `api.js` sends it as a Bearer header on REST calls and as `?token=` on the
 * WebSocket (browsers cannot set headers there).
 *
 * @module auth
 */

const TOKEN_KEY = "progressista.token";

let token = takeToken();

function remember(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) { /* storage may be disabled */ }
}

function takeToken() {
  const url = new URL(location.href);
  let found = url.searchParams.get("token");
  if (found !== null) {
    url.searchParams.delete("token");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    remember(found);
  } else {
    try { found = sessionStorage.getItem(TOKEN_KEY); } catch (_) { found = null; }
  }
  return found || "";
}

/**
 * The token this page uses ("" for none).
 * @returns {string}
 */
export const currentToken = () => token;

const $ = (id) => document.getElementById(id);

/**
 * Show why the server refused the feed (a 1008 close). A token problem offers a
 * form; anything else (an origin the server does not allow) only explains.
 * @param {string} reason  the close frame's reason
 * @returns {boolean} whether it was the token
 */
export function showRefusal(reason) {
  const tokenProblem = !reason || /token/i.test(reason);
  const why = reason ? ` (server said: “${reason}”)` : "";
  const form = $("auth-form");
  if (tokenProblem) {
    $("auth-title").textContent = "Unauthorized — token rejected";
    $("auth-detail").textContent = token
      ? `The server rejected this dashboard's token${why}. Enter the right token, or reopen the page as /?token=<token>.`
      : `This server requires a token${why}. Enter it below, or open the dashboard as /?token=<token>.`;
    form.hidden = false;
  } else {
    $("auth-title").textContent = "Connection refused by the server";
    $("auth-detail").textContent = `The server closed the live connection${why}.`;
    form.hidden = true;
  }
  $("auth").hidden = false;
  document.body.classList.add("locked");
  if (!form.hidden) $("auth-token").focus();
  return tokenProblem;
}

/**
 * Call `connect` whenever someone enters a token in the panel (which then hides).
 * @param {() => void} connect
 */
export function onTokenEntered(connect) {
  $("auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("auth-token");
    token = input.value.trim();
    input.value = "";
    remember(token);
    $("auth").hidden = true;
    document.body.classList.remove("locked");
    connect();
  });
}
