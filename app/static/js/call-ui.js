// The call screen's own parts, apart from media and signaling: the elapsed time, the quality
// reading, the chat panel, the toolbar's toggles and the leave confirmation.

const $ = (id) => document.getElementById(id);

// The call's time, from the server's count of seconds (so a reload or a wrong phone clock keeps it).
export function startElapsed(seconds) {
  const element = $("elapsed");
  const started = performance.now() - seconds * 1000;
  const pad = (n) => String(n).padStart(2, "0");
  const tick = () => {
    const total = Math.floor((performance.now() - started) / 1000);
    const [hours, minutes, secs] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
    element.textContent = hours ? `${hours}:${pad(minutes)}:${pad(secs)}` : `${minutes}:${pad(secs)}`;
  };
  tick();
  clearInterval(startElapsed.timer);
  startElapsed.timer = setInterval(tick, 1000);
}

export function showQuality(quality, text) {
  const label = $("quality");
  if (!label) return;
  label.dataset.quality = quality;
  $("quality-text").textContent = text;
}

// A toggle button whose name stays the same and whose aria-pressed says the state.
export function setPressed(button, pressed) {
  button.setAttribute("aria-pressed", String(pressed));
}

export function wireChat({ onSend, announce, texts }) {
  const panel = $("chat-panel");
  const toggle = $("toggle-chat");
  const setOpen = (open) => {
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      $("chat-unread").hidden = true;
      $("chat-text").focus();
    }
  };
  toggle.addEventListener("click", () => setOpen(panel.hidden));
  $("close-chat").addEventListener("click", () => { setOpen(false); toggle.focus(); });
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("chat-text");
    const text = input.value.trim();
    if (!text || !onSend(text)) return;
    addChat(text, texts.you);
    input.value = "";
  });
  return {
    received(text, who) {
      addChat(text, who);
      if (panel.hidden) {
        $("chat-unread").hidden = false;
        announce(`${texts.new_message} ${who}: ${text}`);
      }
    },
  };
}

// Text only: a message is never parsed as markup.
function addChat(text, who) {
  const item = document.createElement("li");
  const name = document.createElement("strong");
  name.textContent = `${who}: `;
  item.append(name, document.createTextNode(text));
  $("chat-log").append(item);
  item.scrollIntoView({ block: "nearest" });
}

// The red button asks first; `onLeave` runs only when the person confirms.
export function wireLeave(onLeave) {
  const dialog = $("leave-dialog");
  $("leave-call").addEventListener("click", () => dialog.showModal());
  $("stay").addEventListener("click", () => dialog.close());
  $("confirm-leave").addEventListener("click", () => { dialog.close(); onLeave(); });
}
