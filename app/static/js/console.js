// The clerk console: live video waiting-room states, with a visual and an audible alert when a
// citizen starts waiting. Without JavaScript the page still works: reload to refresh.
const root = document.querySelector("[data-console]");
const alertBox = document.getElementById("waiting-alert");

let audio = null; // one AudioContext for every chime: browsers limit how many a page may open

function chime() {
  try {
    audio = audio || new AudioContext();
    const context = audio;
    if (context.state === "suspended") context.resume();
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, context.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.6);
    tone.connect(gain).connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.6);
  } catch {
    // Audio may be blocked until the clerk interacts with the page; the visual alert remains.
  }
}

function timeOf(iso) {
  return new Intl.DateTimeFormat(document.documentElement.lang, { timeStyle: "short" }).format(new Date(iso));
}

function update(data) {
  const row = root.querySelector(`tr[data-reference="${CSS.escape(data.reference)}"]`);
  if (!row) return;
  const label = row.querySelector(".site-call-state");
  const admit = row.querySelector(".site-admit");
  const waiting = data.state === "waiting" && data.present;
  const wasWaiting = label?.dataset.state === "waiting" && !admit?.hidden;
  const texts = {
    waiting: root.dataset.waitingText.replace("{time}", data.since ? timeOf(data.since) : ""),
    in_call: root.dataset.inCallText, done: root.dataset.doneText, cancelled: root.dataset.cancelledText,
  };
  if (label) {
    label.dataset.state = data.state;
    label.textContent = waiting || data.state !== "waiting" ? (texts[data.state] ?? root.dataset.notArrivedText) : root.dataset.notArrivedText;
  }
  if (admit) admit.hidden = !waiting;
  const phone = row.querySelector(".site-phone-request");
  if (phone) phone.hidden = !data.phone_requested;
  if (waiting && !wasWaiting) {
    document.getElementById("waiting-alert-text").textContent = root.dataset.alertText.replace("{reference}", data.reference);
    alertBox.hidden = false;
    chime();
  }
}

if (root && window.io) {
  const socket = window.io("/call", { auth: { console: true }, transports: ["websocket"] });
  socket.on("waiting-room", update);
}
