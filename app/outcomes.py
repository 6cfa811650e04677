"""The outcome codes of an appointment, their labels and explanations for the citizen, and the
status each leaves."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

OUTCOME_LABELS = {
    "completed": _l("Completed"),
    "needs_in_person": _l("An in-person visit is needed"),
    "documents_missing": _l("Documents are missing"),
    "no_show": _l("Did not attend"),
    "technical_failure": _l("Technical failure"),
    "phone_fallback": _l("Attended by phone"),
}
# What the outcome means for the citizen, in the e-mail and on the page after the call.
OUTCOME_EXPLANATIONS = {
    "completed": _l("Your request was processed."),
    "needs_in_person": _l("To finish your request, you need to visit an office in person."),
    "documents_missing": _l("Your request could not be finished because some documents are missing."),
    "no_show": _l(
        "We did not see you at the time of your appointment. If you still need this "
        "service, book a new appointment."
    ),
    "technical_failure": _l(
        "A technical problem ended the call. We are sorry. If your request "
        "was not finished, book a new appointment."
    ),
    "phone_fallback": _l("The clerk attended you by phone."),
}
# The status is the appointment's life (is it over?), the outcome is how it went. Every outcome
# but a no-show ends an appointment the citizen did attend — a technical failure too: the time
# was used, the call is over, and the outcome says why it did not finish.
OUTCOME_STATUS = {
    "completed": "completed",
    "needs_in_person": "completed",
    "documents_missing": "completed",
    "no_show": "no_show",
    "technical_failure": "completed",
    "phone_fallback": "completed",
}
