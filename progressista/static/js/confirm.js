/**
 * Asking before a bulk clear, in the page's own `<dialog id="confirm">` rather
 * than `window.confirm`: Cancel has the focus, and Esc (the dialog's own
 * cancel), a click outside or Cancel all remove nothing.
 *
 * @module confirm
 */

const dialog = /** @type {HTMLDialogElement} */ (document.getElementById("confirm"));
const title = document.getElementById("confirm-title");
const detail = document.getElementById("confirm-detail");
const cancel = document.getElementById("confirm-cancel");
const remove = document.getElementById("confirm-remove");

const YES = "remove";

cancel.addEventListener("click", () => dialog.close(""));
remove.addEventListener("click", () => dialog.close(YES));
// A click on the backdrop lands on the dialog itself (its card fills it).
dialog.addEventListener("click", (event) => {
  if (event.target === dialog) dialog.close("");
});

/**
 * Ask `question` (with `why` under it); resolves true only for Remove.
 * @param {string} question
 * @param {string} why
 * @returns {Promise<boolean>}
 */
export function confirmRemoval(question, why) {
  if (dialog.open) return Promise.resolve(false); // one question at a time
  title.textContent = question;
  detail.textContent = why;
  dialog.returnValue = "";
  dialog.showModal();
  cancel.focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === YES), { once: true });
  });
}
