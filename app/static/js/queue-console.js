// The clerk's queue console: the line refreshes itself when it changes (see turn-status.js).
// "Call next" and the outcome are plain form posts, so the console works without JavaScript.
import { followLiveParts } from "./turn-status.js";

const root = document.querySelector("[data-queue-service]");
if (root && window.io) {
  followLiveParts(root, {
    service: Number(root.dataset.queueService),
    office: Number(root.dataset.queueOffice),
  });
}
