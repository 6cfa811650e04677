// "Opens in 12 min" on the not-yet-open join page; reloads the page when the link opens.
// Counts down from the seconds the server gave, on the monotonic clock: a phone whose clock runs
// fast must not think the link is open already (it would reload every second).
const note = document.querySelector(".site-countdown[data-seconds]");
if (note) {
  const opensAt = performance.now() + Number(note.dataset.seconds) * 1000;
  const tick = () => {
    const seconds = Math.max(0, Math.round((opensAt - performance.now()) / 1000));
    if (seconds === 0) { window.location.reload(); return; }
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = seconds % 60;
    const time = hours ? `${hours} h ${minutes} min` : minutes ? `${minutes} min ${rest} s` : `${rest} s`;
    note.textContent = note.dataset.label.replace("{time}", time);
    note.hidden = false;
  };
  tick();
  setInterval(tick, 1000);
}
