/**
 * Toasts in the corner: failures and confirmations, the same one bumped (×2)
 * rather than stacked, at most five at a time.
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
