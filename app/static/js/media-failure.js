// When the camera or microphone cannot be used (join page and stand-alone check alike): show the
// help for that failure, move focus to it and say it in the live region, so nobody is left silent.
import { failureName } from "./media.js";

export function hideMediaFailure() {
  document.getElementById("media-failure").hidden = true;
}

export function showMediaFailure(error) {
  const name = failureName(error);
  const box = document.getElementById("media-failure");
  for (const help of box.querySelectorAll("[data-failure]")) help.hidden = help.dataset.failure !== name;
  box.hidden = false;
  const heading = box.querySelector("h2");
  const help = box.querySelector(`[data-failure="${name}"]`);
  const live = document.querySelector("[data-media-status]");
  if (live) live.textContent = `${heading.textContent.trim()}. ${help.textContent.trim().split("\n")[0]}`;
  heading.focus();
}
