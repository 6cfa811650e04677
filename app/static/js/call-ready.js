// The clerk's call screen before the admission ("ready"), and the staff session during a call.
// Ready: camera, peer connection (its offer waiting in the outbox) and socket are prepared while
// the clerk reads the panel; the screen shows live whether the citizen is in the waiting room, and
// Admit goes over the socket already open, so the server pairs the call and the offer leaves at
// once. Without JavaScript (or with the socket down) the same button is the console's POST.

const $ = (id) => document.getElementById(id);
const ADMIT_TIMEOUT_MS = 10000;

export function wireReady({ socket, reference, texts, onAdmitted }) {
  const section = $("ready");
  if (!section) return;
  const presence = $("ready-presence");
  const showPresence = (present, gone = false) => {
    presence.dataset.present = String(present);
    const { presentText, absentText, goneText } = presence.dataset;
    presence.textContent = gone ? goneText : present ? presentText : absentText;
  };
  socket.on("standby", ({ present } = {}) => showPresence(Boolean(present)));
  socket.on("waiting-room", (data = {}) => {
    if (data.reference !== reference || section.hidden) return;
    const waiting = ["waiting", "not_arrived"].includes(data.state);
    showPresence(data.state === "waiting" && Boolean(data.present), !waiting);
  });

  const error = $("admit-error");
  const showError = (text, signedOut = false) => {
    $("admit-error-text").textContent = text;
    $("admit-sign-in").hidden = !signedOut;
    error.hidden = false;
    error.focus();
  };
  let sending = false;
  $("admit-form").addEventListener("submit", (event) => {
    if (!socket.connected) return; // the form's own POST: admit, then this screen in the call
    event.preventDefault();
    if (sending) return; // a double click admits once
    sending = true;
    error.hidden = true;
    socket.timeout(ADMIT_TIMEOUT_MS).emit("admit", {}, (timedOut, answer) => {
      sending = false;
      if (!timedOut && answer?.ok) {
        section.hidden = true;
        onAdmitted();
        return;
      }
      showError(answer?.message || texts.admit_no_answer, answer?.error === "signed_out");
    });
  });
}

// A call can last longer than STAFF_IDLE_MINUTES without a single request: while one is in
// progress (`inCall()`), the page tells the server now and then that the clerk is there.
export function keepStaffSessionAlive({ root, inCall, onSignedOut }) {
  const every = Number(root.dataset.keepAliveSeconds) * 1000;
  if (!every || !root.dataset.keepAliveUrl) return;
  const timer = setInterval(async () => {
    if (!inCall()) return;
    try {
      const response = await fetch(root.dataset.keepAliveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": root.dataset.csrfToken, Accept: "application/json" },
      });
      if (response.status === 401) {
        clearInterval(timer);
        onSignedOut((await response.json()).message);
      }
    } catch {
      // Offline for a moment: the next beat tries again, well before the session would expire.
    }
  }, every);
}
