"""The outbox of citizen messages: e-mail (with the .ics and reminders) and SMS, queued, then sent.

Messages are queued in the same transaction as the change that causes them (a booking, a new
time, a cancellation, a turn that moved up or is being called) and sent later by `send_due`
(`flask send-due`, or the background sender).

Citizen links carry tokens that the database keeps only as hashes, so a message holds its links
from when it is queued: an appointment e-mail as its intent (the links and what else it needs,
rendered when it is sent), any other message as its rendered body. Once a message is finished —
sent, failed for good, or cancelled — its intent, bodies and attachments are scrubbed (subject,
recipient, kind, status and times stay), so the tokens do not linger in the database.

- `content`: what a message says, in the citizen's language.
- `intents`: appointment e-mails queued as what to say, and `rendered` when sent.
- `outbox`: queueing; adds to the caller's session, never commits.
- `senders`: SMTP, .eml files, SMS webhook or log; they deliver one message or raise.
- `worker`: `send_due`, which claims, sends, retries and scrubs, committing as it goes.
"""

from app.notifications.content import (
    AFTER_CALL_KINDS,
    CALENDAR_METHODS,
    REMINDER_KINDS,
    REMINDERS,
    appointment_ics,
    calendar_content_type,
    follow_up_notice_text,
    render_after_call_email,
    render_email,
    render_running_late,
    render_staff_email,
    turn_sms_text,
)
from app.notifications.intents import rendered
from app.notifications.outbox import (
    SCRUBBED,
    cancel_pending,
    queue_appointment_messages,
    queue_cancellation,
    queue_follow_up_notice,
    queue_manage_link,
    queue_outcome,
    queue_result_ready,
    queue_running_late,
    queue_staff_email,
    queue_turn_sms,
)
from app.notifications.senders import (
    EmailSender,
    FileEmailSender,
    FileSmsSender,
    SmsSender,
    SmtpEmailSender,
    WebhookSmsSender,
    build_email,
    email_sender_from_config,
    saved_emails,
    sms_sender_from_config,
)
from app.notifications.worker import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    BackgroundSender,
    PeriodicJob,
    SendReport,
    send_due,
    send_from_inside_the_app,
    start_background_sender,
)

__all__ = [
    "AFTER_CALL_KINDS",
    "CALENDAR_METHODS",
    "CLAIM_LEASE",
    "MAX_ATTEMPTS",
    "REMINDERS",
    "REMINDER_KINDS",
    "RETRY_DELAYS",
    "SCRUBBED",
    "BackgroundSender",
    "PeriodicJob",
    "FileSmsSender",
    "EmailSender",
    "FileEmailSender",
    "SendReport",
    "SmsSender",
    "SmtpEmailSender",
    "WebhookSmsSender",
    "appointment_ics",
    "calendar_content_type",
    "follow_up_notice_text",
    "build_email",
    "cancel_pending",
    "email_sender_from_config",
    "queue_appointment_messages",
    "queue_cancellation",
    "queue_follow_up_notice",
    "queue_manage_link",
    "queue_outcome",
    "queue_result_ready",
    "queue_running_late",
    "queue_staff_email",
    "queue_turn_sms",
    "render_after_call_email",
    "render_email",
    "render_running_late",
    "render_staff_email",
    "rendered",
    "saved_emails",
    "send_due",
    "sms_sender_from_config",
    "send_from_inside_the_app",
    "start_background_sender",
    "turn_sms_text",
]
