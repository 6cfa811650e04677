// Shows the appointment time in the citizen's own time zone when it differs from the agency's
// (Puerto Ricans abroad book too). Progressive enhancement: without JavaScript nothing changes.
for (const note of document.querySelectorAll(".site-own-time[data-start]")) {
  const ownZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const start = new Date(note.dataset.start);
  const format = (timeZone) =>
    new Intl.DateTimeFormat(note.dataset.lang, { dateStyle: "full", timeStyle: "short", timeZone }).format(start);
  if (ownZone && format(ownZone) !== format(note.dataset.agencyZone)) {
    note.textContent = `${note.dataset.label.replace("{zone}", ownZone)} ${format(ownZone)}`;
    note.hidden = false;
  }
}
