// The clerk's queue console: the line refreshes itself when it changes (see turn-status.js).
// "Call next" and the outcome are plain form posts, so the console works without JavaScript.
import { followLiveParts } from "./turn-status.js";

const root = document.querySelector("[data-queue-service]");
if (root && window.io) {
  followLiveParts(root, {
    service: Number(root.dataset.queueService),
    office: Number(root.dataset.queueOffice),
  });
  sayWhenTheCallEnds(root);
}

// The clerk's own form posts reload the page, so a live swap that takes the call away means the
// citizen cancelled the turn meanwhile: say so, instead of a form that silently disappears.
function sayWhenTheCallEnds(root) {
  const part = root.querySelector('[data-live-part="call"]');
  const region = root.querySelector("#call-ended-region");
  if (!part || !region) return;
  const callingTurn = () => part.querySelector("[data-calling-turn]");
  let calling = callingTurn();
  new MutationObserver(() => {
    const now = callingTurn();
    if (calling && now?.dataset.callingTurn !== calling.dataset.callingTurn) {
      const alert = document.createElement("div");
      alert.className = "usa-alert usa-alert--warning usa-alert--slim";
      alert.innerHTML = '<div class="usa-alert__body"><p class="usa-alert__text" id="call-ended"></p></div>';
      alert.querySelector("p").textContent = calling.dataset.endedMessage;
      region.replaceChildren(alert);
    }
    calling = now;
  }).observe(part, { childList: true });
}
