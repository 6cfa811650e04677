// The clerk's side panel on the call screen. Its forms are sent in the background so the call is
// never interrupted: the identity check and the result upload redraw the panel from the answer;
// the outcome asks for JSON, shows refused fields in place (error summary focused, fields marked)
// and, once saved, goes on to the console.

export function sendPanelFormsInBackground({ panel, texts, announce }) {
  panel.addEventListener("submit", async (event) => {
    const form = event.target;
    event.preventDefault();
    try {
      if (form.action.endsWith("/outcome")) await sendOutcome(form, texts);
      else await sendAndRedraw(form, panel, announce);
    } catch (error) {
      form.submit(); // the network failed: a normal submit still records it
    }
  });
}

async function sendAndRedraw(form, panel, announce) {
  const response = await fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" });
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.querySelector("[data-appointment-panel]");
  if (fresh) panel.replaceChildren(...fresh.childNodes);
  const alert = page.querySelector(".usa-alert");
  if (alert) announce(alert.textContent.trim());
}

async function sendOutcome(form, texts) {
  const response = await fetch(form.action, {
    method: "POST", body: new FormData(form), credentials: "same-origin", headers: { Accept: "application/json" },
  });
  const body = await response.json();
  if (response.ok) {
    window.location.assign(body.location);
    return;
  }
  showErrors(form, body.fields ?? {}, body.message, texts);
}

function clearErrors(form) {
  form.querySelector("#outcome-errors")?.remove();
  for (const message of form.querySelectorAll(".usa-error-message")) message.remove();
  for (const group of form.querySelectorAll(".usa-form-group--error")) group.classList.remove("usa-form-group--error");
  for (const field of form.querySelectorAll("[aria-invalid]")) {
    field.removeAttribute("aria-invalid");
    field.classList.remove("usa-input--error");
    const described = (field.getAttribute("aria-describedby") ?? "").split(" ").filter((id) => !id.endsWith("-error"));
    if (described.length) field.setAttribute("aria-describedby", described.join(" "));
    else field.removeAttribute("aria-describedby");
  }
}

// Where each refused field's message goes, and which element is marked invalid.
const FIELDS = {
  outcome: { group: "fieldset", field: "fieldset", target: "outcome-completed", before: ".usa-radio" },
  message: { group: "#outcome-message", field: "#outcome-message", target: "outcome-message", before: "#outcome-message" },
};

function showErrors(form, fields, message, texts) {
  clearErrors(form);
  const summary = document.createElement("div");
  summary.id = "outcome-errors";
  summary.className = "usa-alert usa-alert--error usa-alert--slim margin-bottom-2";
  summary.setAttribute("role", "alert");
  summary.tabIndex = -1;
  const body = document.createElement("div");
  body.className = "usa-alert__body";
  const heading = document.createElement("p");
  heading.className = "usa-alert__heading text-bold";
  heading.textContent = texts.errors_heading;
  const list = document.createElement("ul");
  list.className = "usa-list";
  const entries = Object.entries(fields).filter(([name]) => FIELDS[name]);
  if (entries.length === 0) entries.push(["", message]);
  for (const [name, text] of entries) {
    const item = document.createElement("li");
    if (name) {
      const link = document.createElement("a");
      link.className = "usa-link";
      link.href = `#${FIELDS[name].target}`;
      link.textContent = text;
      item.append(link);
      markField(form, name, text);
    } else {
      item.textContent = text;
    }
    list.append(item);
  }
  body.append(heading, list);
  summary.append(body);
  form.prepend(summary);
  summary.focus();
}

function markField(form, name, text) {
  const where = FIELDS[name];
  const field = form.querySelector(where.field);
  const group = where.group === "fieldset" ? field : field.closest(".usa-form-group");
  group.classList.add("usa-form-group", "usa-form-group--error");
  const error = document.createElement("span");
  error.className = "usa-error-message";
  error.id = `${field.id || name}-error`;
  error.textContent = text;
  form.querySelector(where.before).before(error);
  field.setAttribute("aria-invalid", "true");
  if (field.tagName !== "FIELDSET") field.classList.add("usa-input--error");
  const described = field.getAttribute("aria-describedby");
  field.setAttribute("aria-describedby", described ? `${described} ${error.id}` : error.id);
}
