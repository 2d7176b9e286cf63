/**
 * Toasts in the corner: failures and confirmations, the same one bumped (×2)
 * rather than stacked, at most five at a time; and toasts offering one action
 * (Undo) for a while.
 *
 * @module messages
 */

import { el } from "./dom.js";

const LIMIT = 5;
const box = document.getElementById("messages");

/**
 * Show `text` ("error" stays until dismissed unless `timeoutMs` is given; "info" is a status).
 * @param {string} text
 * @param {"error" | "info"} [kind]
 * @param {number} [timeoutMs]  0: until dismissed
 * @returns {HTMLElement}
 */
export function showMessage(text, kind = "error", timeoutMs = 0) {
  for (const node of box.children) {
    if (node.dataset.text === text) {
      const repeat = Number(node.dataset.repeat || "1") + 1;
      node.dataset.repeat = String(repeat);
      node.querySelector(".msg-repeat").textContent = "×" + repeat;
      return node;
    }
  }
  const node = el("div", "msg msg-" + kind);
  node.dataset.testid = "message";
  node.dataset.kind = kind;
  node.dataset.text = text;
  node.setAttribute("role", kind === "error" ? "alert" : "status");
  const close = el("button", "icon-btn msg-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss message");
  close.addEventListener("click", () => node.remove());
  node.append(el("span", "msg-text", text), el("span", "msg-repeat"), close);
  box.append(node);
  while (box.children.length > LIMIT) box.firstElementChild.remove();
  if (timeoutMs) setTimeout(() => node.remove(), timeoutMs);
  return node;
}

/**
 * A toast offering one `action` (its button says `label`) for `timeoutMs`;
 * the wait starts again while the pointer or the focus is on it. Gone once used.
 * @param {string} text
 * @param {string} label
 * @param {() => void} action
 * @param {number} timeoutMs
 * @returns {HTMLElement}
 */
export function showAction(text, label, action, timeoutMs) {
  const node = el("div", "msg msg-info msg-offer");
  node.dataset.testid = "message";
  node.dataset.kind = "info";
  node.setAttribute("role", "status");
  const button = el("button", "btn btn-small msg-action", label);
  button.type = "button";
  button.dataset.testid = "message-action";
  button.addEventListener("click", () => {
    node.remove();
    action();
  });
  const close = el("button", "icon-btn msg-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss message");
  close.addEventListener("click", () => node.remove());
  node.append(el("span", "msg-text", text), button, close);
  box.append(node);
  while (box.children.length > LIMIT) box.firstElementChild.remove();
  let timer = setTimeout(() => node.remove(), timeoutMs);
  const hold = () => clearTimeout(timer);
  const resume = () => {
    clearTimeout(timer);
    if (!node.matches(":hover, :focus-within")) timer = setTimeout(() => node.remove(), timeoutMs);
  };
  node.addEventListener("pointerenter", hold);
  node.addEventListener("focusin", hold);
  node.addEventListener("pointerleave", resume);
  node.addEventListener("focusout", () => setTimeout(resume));
  return node;
}
