// Live parts of a server-rendered page (a turn's status page, the clerk's queue console).
// The server pushes "something changed" over Socket.IO (namespace /turns, no personal data);
// the page then fetches itself again and swaps each [data-live-part] whose data-version changed.
// Without JavaScript, or while the socket is down, a reload shows exactly the same thing.

const CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]";

// A changed part is rebuilt from the server's copy. What a keyboard or screen-reader user was
// doing in it survives: the control that had focus gets it back (found by id, else by what it is
// and says), ticked boxes and typed text are put back; when that control is gone, focus stays in
// the part instead of dropping to the page's body.
const signature = (control) =>
  [control.tagName, control.form?.getAttribute("action"), control.name, control.textContent.trim()].join("|");

function keep(part) {
  const controls = [...part.querySelectorAll(CONTROLS)];
  const active = part.contains(document.activeElement) ? document.activeElement : null;
  const values = controls
    .filter((control) => control.id && control.matches("input:not([type=hidden]), textarea, select"))
    .map((control) => [control.id, control.type, control.checked, control.value]);
  return { active, id: active?.id, signature: active && signature(active), values };
}

function restore(part, kept) {
  for (const [id, type, checked, value] of kept.values) {
    const control = part.querySelector(`#${CSS.escape(id)}`);
    if (!control || control.type !== type) continue;
    if (type === "checkbox" || type === "radio") control.checked = checked;
    else control.value = value;
  }
  if (!kept.active) return;
  let target = kept.id ? part.querySelector(`#${CSS.escape(kept.id)}`) : null;
  target ||= [...part.querySelectorAll(CONTROLS)].find((control) => signature(control) === kept.signature);
  if (!target) {
    part.tabIndex = -1;
    target = part;
  }
  target.focus({ preventScroll: true });
}

export function followLiveParts(root, auth) {
  let running = false;
  let again = false;
  let timer = null;

  function swap(fresh) {
    for (const part of root.querySelectorAll("[data-live-part]")) {
      const next = fresh.querySelector(`[data-live-part="${part.dataset.livePart}"]`);
      // Unchanged parts stay as they are, so focus and half-typed input are never lost.
      if (next && next.dataset.version !== part.dataset.version) {
        const kept = keep(part);
        part.innerHTML = next.innerHTML;
        part.dataset.version = next.dataset.version;
        restore(part, kept);
      }
    }
    root.dataset.liveRefreshed = String(Number(root.dataset.liveRefreshed || 0) + 1);
  }

  async function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const response = await fetch(root.dataset.refreshUrl, {
        cache: "no-store", credentials: "same-origin", headers: { Accept: "text/html" },
      });
      if (response.ok) swap(new DOMParser().parseFromString(await response.text(), "text/html"));
    } catch {
      // Offline for a moment: the next push, or the reconnect, refreshes again.
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  }

  // Several pushes in a burst (a call is a queue change and a turn change) make one fetch.
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  }

  const socket = window.io("/turns", { auth });
  socket.on("connect", () => {
    root.dataset.live = "connected";
    schedule(); // catch up with whatever changed before (or while) the socket was down
  });
  socket.on("disconnect", () => { root.dataset.live = "disconnected"; });
  socket.on("connect_error", () => { root.dataset.live = "error"; });
  socket.on("turn-updated", schedule);
  socket.on("queue-updated", schedule);
  return socket;
}

const page = document.querySelector("[data-turn-token]");
if (page && window.io) followLiveParts(page, { token: page.dataset.turnToken });
