// The stand-alone camera and microphone check (offered after booking and before the call opens).
import { getLocalMedia, listDevices, meterLevel } from "./media.js";
import { hideMediaFailure, showMediaFailure } from "./media-failure.js";

const $ = (id) => document.getElementById(id);
let stream = null;
let stopMeter = () => {};

async function check(options = {}) {
  stream?.getTracks().forEach((track) => track.stop());
  stopMeter();
  hideMediaFailure();
  try {
    stream = await getLocalMedia(options);
  } catch (error) {
    showMediaFailure(error);
    return;
  }
  for (const video of document.querySelectorAll("video[data-local]")) video.srcObject = stream;
  stopMeter = meterLevel(stream, (level) => { $("mic-level").value = Math.round(level * 100); });
  const devices = await listDevices();
  const fill = (select, list) => {
    const chosen = select.value;
    select.replaceChildren(...list.map((d, i) => new Option(d.label || `${i + 1}`, d.deviceId)));
    if (chosen) select.value = chosen;
    select.closest(".usa-form-group").hidden = list.length === 0;
  };
  fill($("camera-select"), devices.cameras);
  fill($("mic-select"), devices.microphones);
  fill($("speaker-select"), devices.speakers);
  $("device-ok").hidden = false;
}

for (const id of ["camera-select", "mic-select"]) {
  $(id).addEventListener("change", () => check({
    videoDeviceId: $("camera-select").value || undefined, audioDeviceId: $("mic-select").value || undefined }));
}
$("retry-devices").addEventListener("click", () => check());
$("audio-only").addEventListener("click", () => check({ video: false }));
check();
