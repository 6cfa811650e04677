// A "Print" button for pages with a print layout (the agenda); without JavaScript it stays hidden
// and the browser's own print command gives the same layout.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
