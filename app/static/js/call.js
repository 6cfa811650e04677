// The call page, for the citizen (join link) and for the clerk (call screen). The page's
// <main data-call ...> says who we are; texts come from the JSON block #call-strings.
import { connectSignaling, fetchIceServers, keepIceServersFresh } from "./signaling.js";
import { getLocalMedia, listDevices, meterLevel } from "./media.js";
import { hideMediaFailure, showMediaFailure } from "./media-failure.js";
import { createPeer, createQualityMeter } from "./peer.js";
import { sendPanelFormsInBackground } from "./panel.js";
import { setPressed, showQuality, startElapsed, wireChat, wireLeave } from "./call-ui.js";
import { keepStaffSessionAlive, wireReady } from "./call-ready.js";

const root = document.querySelector("[data-call]");
const role = root.dataset.role; // "citizen" | "clerk"
const texts = JSON.parse(document.getElementById("call-strings").textContent);
const $ = (id) => document.getElementById(id);
// The set-up steps on the page's timeline (read by benchmarks/call_setup.py and the dev tools).
const mark = (name) => performance.mark(`call:${name}`);
mark("script");

let localStream = new MediaStream();
let peer = null;
let readQuality = null;
let socket = null;
let iceServers = [];
let chat = null;
let stopMeter = () => {};
let otherLost = false; // the other side's socket dropped without a goodbye: it may come back
let iceReady = Promise.resolve();
let inCall = false; // the clerk's screen: admitted and not yet ended (keeps the staff session alive)

// Read by the browser tests, and handy when debugging a call from the console.
window.ventanillaCall = { get pc() { return peer?.pc ?? null; }, get socket() { return socket; } };

function show(sectionId) {
  const section = $(sectionId);
  if (!section || !section.hidden) return;
  for (const step of root.querySelectorAll("[data-step]")) step.hidden = step.id !== sectionId;
  // The citizen's call fills the screen: the site's header and footer step aside.
  document.body.classList.toggle("site-in-call", role === "citizen" && sectionId === "in-call");
  // Move a screen reader's focus to the new step's heading (the citizen's steps have an h1).
  const heading = section.querySelector("h1");
  if (heading) { heading.tabIndex = -1; heading.focus(); }
}

function status(text) {
  const region = $("call-status");
  if (region) region.textContent = text;
}

// --- Media -----------------------------------------------------------------------------------

function showLocal() {
  for (const video of root.querySelectorAll("video[data-local]")) video.srcObject = localStream;
}

function stopLocalMedia() {
  stopMeter();
  stopMeter = () => {};
  localStream?.getTracks().forEach((track) => track.stop());
}

async function startMedia(options = {}) {
  const stream = await getLocalMedia(options);
  stopLocalMedia();
  localStream = stream;
  showLocal();
  await peer?.useStream(localStream);
  const meter = $("mic-level");
  if (meter) stopMeter = meterLevel(localStream, (level) => { meter.value = Math.round(level * 100); });
  await offerCameraSwitch();
  return localStream;
}

// The switch button only when there is another camera to switch to.
async function offerCameraSwitch() {
  const { cameras } = await listDevices();
  $("switch-camera").hidden = cameras.length < 2 || !localStream?.getVideoTracks().length;
}

async function switchCamera() {
  const old = localStream?.getVideoTracks()[0];
  const { cameras } = await listDevices();
  const current = cameras.findIndex((camera) => camera.deviceId === old?.getSettings().deviceId);
  const next = cameras[(current + 1) % cameras.length];
  try {
    const [track] = (await getLocalMedia({ audio: false, video: true, videoDeviceId: next.deviceId })).getVideoTracks();
    track.enabled = old ? old.enabled : true;
    await peer?.replaceTrack("video", track);
    if (old) { localStream.removeTrack(old); old.stop(); }
    localStream.addTrack(track);
    showLocal();
    if ($("camera-select")) $("camera-select").value = next.deviceId;
  } catch (error) {
    status(texts.switch_failed);
  }
}

async function fillDeviceSelects() {
  const selects = { cameras: $("camera-select"), microphones: $("mic-select"), speakers: $("speaker-select") };
  if (!selects.cameras) return;
  const devices = await listDevices();
  for (const [kind, select] of Object.entries(selects)) {
    if (!select) continue;
    select.replaceChildren(...devices[kind].map((device, index) =>
      new Option(device.label || `${texts.device} ${index + 1}`, device.deviceId)));
    select.closest(".usa-form-group").hidden = devices[kind].length === 0;
  }
}

async function checkDevices(options) {
  try {
    hideMediaFailure();
    await startMedia(options);
    await fillDeviceSelects();
    $("enter-waiting-room").disabled = Boolean(socket?.active);
    return true;
  } catch (error) {
    showMediaFailure(error);
    return false;
  }
}

// --- The call --------------------------------------------------------------------------------

// A fresh connection, made ready before it is needed: the citizen's in the waiting room, the
// clerk's while its page connects (it offers at once, its offer waiting for "start").
function newPeer() {
  peer?.close();
  const own = createPeer({
    send: (data) => socket.emit("signal", data),
    polite: role === "citizen",
    iceServers,
    localStream,
    onTrack: (stream) => { $("remote-video").srcObject = stream; },
    onStateChange: (state) => {
      if (own !== peer) return;
      mark(state);
      if (socket?.connected) socket.emit("peer_state", { state: own.state });
      if (otherLost && ["disconnected", "failed", "closed"].includes(state)) {
        otherLeft(role === "citizen" ? texts.clerk_left : texts.citizen_left);
        return;
      }
      status(texts[`state_${state}`] ?? state);
      if (state === "connected") {
        show("in-call");
        // The reports count audio-only calls: no video track came from the citizen.
        const remote = $("remote-video").srcObject;
        if (role === "clerk") socket.emit("connected", { audio_only: !remote?.getVideoTracks().length });
      }
    },
  });
  peer = own;
  readQuality = createQualityMeter(peer.pc);
}

// What the server hears at every (re)connection: who we are, and how our connection is.
function authWith(credentials) {
  return () => ({ ...credentials, peer: peer?.state ?? "none" });
}

// When the pair completes: keep a connection both sides still have up, restart ICE on one both
// still hold, or start afresh. Only the clerk offers or restarts; the citizen follows.
function resume(mode) {
  const mine = peer?.state ?? "none";
  if (mode === "keep" && mine === "connected") return;
  if (mode !== "fresh" && mine !== "none") {
    if (role === "clerk") peer.restartIce();
    return;
  }
  if (!peer || peer.started) newPeer(); // else the prepared one
  if (role === "clerk") peer.start();
}

// One socket per page: a second click (or a double click) while one is open does nothing.
function joinSignaling(credentials) {
  if (socket?.active) return;
  const enter = $("enter-waiting-room");
  if (enter) enter.disabled = true;
  socket = connectSignaling(authWith(credentials));
  const own = socket;
  socket.on("connect", () => mark("socket-connected"));
  socket.on("connect_error", () => status(texts.cannot_connect));
  socket.on("role", () => {
    if (role !== "citizen" || peer?.pc.remoteDescription) return;
    show("waiting");
    status(texts.waiting);
    if (!peer) newPeer(); // ready before the clerk admits: the offer finds it waiting
  });
  socket.on("admitted", () => status(texts.admitted));
  socket.on("running-late", ({ minutes } = {}) => {
    const text = texts.running_late[minutes];
    if (!text) return;
    $("running-late-text").textContent = text;
    $("running-late").hidden = false;
  });
  socket.on("peer-joined", ({ name, elapsed, mode = "fresh" } = {}) => {
    mark("peer-joined");
    otherLost = false;
    $("peer-left").hidden = true;
    if (name) $("peer-name").textContent = name;
    startElapsed(Number(elapsed) || 0);
    if (mode === "fresh") status(texts.connecting);
    if (role === "citizen") resume(mode); // the polite side gets ready and waits for the offer
  });
  socket.on("start", async ({ mode = "fresh" } = {}) => { // the clerk: offer, restart ICE, or nothing
    mark("start");
    await iceReady;
    resume(mode);
  });
  socket.on("signal", (data) => peer?.handleSignal(data));
  socket.on("peer-left", ({ reason } = {}) => {
    // A socket lost while the media still flows: the other side is likely reconnecting.
    if (reason === "lost" && peer?.state === "connected") otherLost = true;
    else otherLeft(role === "citizen" ? texts.clerk_left : texts.citizen_left);
  });
  socket.on("chat", ({ text }) => chat.received(String(text), role === "citizen" ? texts.clerk : texts.citizen));
  // This page's socket was replaced by another tab or device. The server closes it (no reconnection
  // follows a server's disconnect); closing it here as well races the server's close frame.
  socket.on("replaced", () => { if (own === socket) stopCall(texts.replaced, { closeSocket: false }); });
  socket.on("call-ended", () => {
    inCall = false;
    peer?.close();
    stopLocalMedia();
    if (role === "citizen") window.location.assign(root.dataset.afterUrl);
    else status(texts.ended);
  });
}

// This page is out of the call: camera and microphone off, connection closed, and the reason shown.
function stopCall(text, { closeSocket = true } = {}) {
  if (closeSocket) socket?.disconnect();
  peer?.close();
  peer = null;
  stopLocalMedia();
  $("remote-video").srcObject = null;
  status(text);
  if (role === "citizen") {
    $("call-over-heading").textContent = text;
    show("call-over");
  } else {
    $("peer-left-text").textContent = text;
    $("peer-left").hidden = false;
  }
}

// The other side left: say so where it shows, and stop the frozen picture and the stale quality.
function otherLeft(text) {
  status(text);
  $("peer-left-text").textContent = text;
  $("peer-left").hidden = false;
  peer?.close();
  peer = null;
  $("remote-video").srcObject = null;
  showQuality("gone", texts.quality_gone);
}

function toggleTrack(button, kind) {
  const track = kind === "audio" ? localStream?.getAudioTracks()[0] : localStream?.getVideoTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  setPressed(button, !track.enabled);
  status(texts[`${kind}_${track.enabled ? "on" : "off"}`]);
}

function wireControls() {
  $("toggle-mic").addEventListener("click", (event) => toggleTrack(event.currentTarget, "audio"));
  $("toggle-camera").addEventListener("click", (event) => toggleTrack(event.currentTarget, "video"));
  $("switch-camera").addEventListener("click", switchCamera);
  chat = wireChat({
    texts,
    announce: status,
    onSend: (text) => {
      if (!socket?.connected) return false;
      socket.emit("chat", { text });
      return true;
    },
  });
  wireLeave(() => {
    if (role === "citizen") stopCall(texts.you_left);
    else window.location.assign(root.dataset.leaveUrl);
  });
  $("speaker-select")?.addEventListener("change", (event) => {
    $("remote-video").setSinkId?.(event.target.value);
  });
  for (const id of ["camera-select", "mic-select"]) {
    $(id)?.addEventListener("change", () => checkDevices({
      videoDeviceId: $("camera-select")?.value || undefined,
      audioDeviceId: $("mic-select")?.value || undefined,
    }));
  }
  setInterval(async () => {
    if (!peer || peer.pc.connectionState !== "connected") return;
    const quality = await readQuality();
    showQuality(quality, texts[`quality_${quality}`]);
  }, 2000);
}

// Fresh TURN credentials before the old ones expire, for the connection in use and the next one.
function useIceServers(token, ice) {
  iceServers = ice.iceServers;
  keepIceServersFresh(token, ice, (servers) => {
    iceServers = servers;
    // The ready screen's connection, prepared but not used yet, gathers again: its held offer's
    // relay candidates would otherwise outlive their credentials while the clerk waits.
    if (role === "clerk" && peer && !peer.started) newPeer();
    else peer?.setIceServers(servers);
  });
}

// Leaving the page says goodbye, so the other side hears "left" rather than a lost socket.
window.addEventListener("pagehide", () => socket?.disconnect());

async function startCitizen() {
  const token = root.dataset.token;
  useIceServers(token, JSON.parse(root.dataset.ice || "null") ?? await fetchIceServers(token));
  mark("ice-servers");
  wireControls();
  $("enter-waiting-room").addEventListener("click", () => joinSignaling({ token }));
  $("audio-only").addEventListener("click", async () => {
    if (await checkDevices({ video: false })) joinSignaling({ token });
  });
  $("retry-devices").addEventListener("click", () => checkDevices());
  $("rejoin").addEventListener("click", async () => {
    if (await checkDevices()) joinSignaling({ token });
  });
  const ready = await checkDevices();
  mark("media");
  // After a reload mid-call, go straight back in: the call re-establishes without the clerk.
  if (ready && root.dataset.inCall === "true") joinSignaling({ token });
}

async function startClerk() {
  wireControls();
  // All at once: the camera, the ICE servers and the socket; the connection and its offer as soon
  // as the ICE servers are known, its tracks when the camera is ready. On the "ready" screen all
  // of it is prepared before the admission, the socket on standby until Admit.
  const media = startMedia().then(() => mark("media"), () => status(texts.clerk_no_camera));
  const embedded = JSON.parse(root.dataset.ice || "null");
  iceReady = (embedded ? Promise.resolve(embedded) : fetchIceServers()).then((ice) => {
    useIceServers(undefined, ice);
    mark("ice-servers");
    if (!peer) newPeer();
  });
  const reference = root.dataset.reference;
  joinSignaling({ appointment: reference });
  inCall = root.dataset.state !== "ready";
  wireReady({
    socket,
    reference,
    texts,
    onAdmitted: () => {
      mark("admitted");
      inCall = true;
      status(texts.connecting);
      root.querySelector("h1").focus();
    },
  });
  keepStaffSessionAlive({ root, inCall: () => inCall, onSignedOut: status });
  if (inCall) status(texts.waiting_for_citizen);
  await media;
  const panel = document.querySelector("[data-appointment-panel]");
  if (panel) sendPanelFormsInBackground({ panel, texts, announce: status });
}

if (role === "citizen") startCitizen(); else startClerk();
