// The ALTCHA widget of the booking and turn forms (templates/_proof_of_work.html). Its
// proof-of-work worker is a file of this site (the CSP allows no blob: workers) and its words
// come from the server, in the page's language; vendor/altcha/altcha.min.js runs first.
const altcha = globalThis.$altcha;

for (const widget of document.querySelectorAll("altcha-widget[data-worker]")) {
  const worker = widget.dataset.worker;
  altcha.algorithms.set("SHA-256", () => new Worker(worker));
  const language = widget.getAttribute("language");
  altcha.i18n.set(language, { ...altcha.i18n.get("en"), ...JSON.parse(widget.dataset.strings) });
  // The widget's checkbox is described by the page's hint and, after a refused form, its error.
  const describe = () => {
    const box = widget.querySelector('input[type="checkbox"]');
    if (box) box.setAttribute("aria-describedby", widget.dataset.describedby);
  };
  widget.addEventListener("load", describe);
  describe();
}
