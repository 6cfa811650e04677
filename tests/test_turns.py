"""Same-day turns: taking a turn, closing rules, line order and wait, the clerk's console, check-in,
SMS through the outbox, and the /turns Socket.IO namespace.

The turn rules read the clock; every test here runs with the test clock frozen at a moment when the
Retirement System's demo line is open (a Wednesday, 10:00 in Puerto Rico), so the tests do not
depend on when they run. Tests move it with `clock.now = …`.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import threading
from html import unescape

import pytest
import sqlalchemy as sa

from app import queue
from app.extensions import db
from app.models import Appointment, Closure, OpeningHours, OutboxMessage, Staff, Turn
from app.tokens import hash_token, new_token, turn_by_status_token
from tests.support.clock import UTC, WEDNESDAY_10AM, local
from tests.support.raw_sockets import RawSocket
from tests.support.turns import (
    SERVICE,
    clerk_named,
    console_url,
    give_turn,
    login_retiro,
    make_clerk,
    phones,
    retiro,
    retiro_line,
)

pytestmark = pytest.mark.clock(at=WEDNESDAY_10AM)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def app(turns_app):
    """conftest's `turns_app`: the app reading the turn strings' pending Spanish too."""
    return turns_app


def outbox(kind: str | None = None) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


# --- Taking a turn ------------------------------------------------------------------------------


def test_a_citizen_takes_a_turn_and_follows_it_by_its_link(app, client, seeded, clock):
    page = text(client.get(f"/turns/{SERVICE}"))
    assert "Orientación sobre retiro" in page and "Personas en fila: 0" in page
    response = client.post(
        f"/turns/{SERVICE}",
        data={"name": "  Ana   Rivera ", "phone": "(787) 555-0100", "reason": "Mi pensión", "language": "es"},
    )
    assert response.status_code == 302
    token = re.fullmatch(r"/turns/status/([\w-]{40,})", response.headers["Location"]).group(1)
    status = text(client.get(response.headers["Location"]))
    assert "R-001" in status and "Usted es la próxima persona en la fila." in status
    assert "menos de 5 minutos" in status and "un estimado, no una promesa" in status
    assert f"/turns/status/{token}" in status  # the link to keep
    with app.app_context():
        turn = db.session.scalar(sa.select(Turn))
        assert (turn.code, turn.number, turn.day) == ("R-001", 1, dt.date(2031, 3, 5))
        assert turn.citizen_name == "Ana Rivera" and turn.citizen_phone == "+17875550100"
        assert turn.active_phone == "+17875550100" and turn.priority_at == turn.queued_at == clock.now
        assert turn.status_token_hash == hash_token(token)  # only the hash is stored
        assert token not in json.dumps([str(getattr(turn, c.key)) for c in sa.inspect(Turn).column_attrs])


def test_the_take_page_works_in_english(client, seeded, clock):
    client.get("/language/en")
    response = client.post(
        f"/turns/{SERVICE}", data={"name": "A", "phone": "123", "reason": "", "language": "xx"}
    )
    assert response.status_code == 422
    page = text(response)
    assert "Enter your full name (2 to 120 characters)." in page
    assert "Enter a valid phone number" in page
    assert "Tell us briefly what your call is about." in page and "Choose a language." in page


def test_numbers_restart_each_day_in_the_agency_zone(app, seeded, clock):
    with app.test_request_context():
        office = retiro().offices[0]
        db.session.add(OpeningHours(office=office, weekday=2, opens_at=dt.time(17), closes_at=dt.time(23)))
        db.session.commit()
        codes = [
            give_turn(phone, now=now).turn.code
            for phone, now in zip(
                phones(3),
                (
                    local("2031-03-05", "09:00"),
                    local("2031-03-05", "16:00"),
                    dt.datetime(2031, 3, 6, 2, 0, tzinfo=UTC),
                ),
                strict=True,
            )
        ]  # 22:00 Wednesday in Puerto Rico, Thursday in UTC
        assert codes == ["R-001", "R-002", "R-003"]
        thursday = give_turn("787-555-0999", now=local("2031-03-06", "08:30")).turn
        assert (thursday.code, thursday.day) == ("R-001", dt.date(2031, 3, 6))


@pytest.mark.parametrize(
    "moment, setup, code, opens",
    [
        (local("2031-03-05", "07:00"), None, "outside_hours", local("2031-03-05", "08:00")),
        (local("2031-03-05", "17:30"), None, "outside_hours", local("2031-03-06", "08:00")),
        (local("2031-03-08", "10:00"), None, "outside_hours", local("2031-03-10", "08:00")),  # Saturday
        (
            local("2031-07-04", "10:00"),
            None,
            "closed_today",
            local("2031-07-07", "08:00"),
        ),  # Independence Day
        (local("2031-03-05", "10:00"), "closure", "closed_today", local("2031-03-06", "08:00")),
        (local("2031-03-05", "10:00"), "capacity", "capacity", local("2031-03-06", "08:00")),
        (local("2031-03-05", "16:35"), "two_waiting", "past_closing", local("2031-03-06", "08:00")),
    ],
)
def test_turns_stop_outside_hours_on_holidays_at_capacity_and_when_the_wait_passes_closing(
    app, seeded, moment, setup, code, opens
):
    with app.test_request_context():
        service = retiro()
        if setup == "closure":
            db.session.add(
                Closure(
                    agency_id=service.agency_id,
                    day=dt.date(2031, 3, 5),
                    reason_es="Inventario",
                    reason_en="Stocktaking",
                )
            )
        elif setup == "capacity":
            service.daily_capacity = 2
        db.session.commit()
        if setup in ("capacity", "two_waiting"):  # 2 × 15 min from 16:35 runs past 17:00
            for phone in phones(2):
                give_turn(phone, now=moment - dt.timedelta(minutes=5))
        with pytest.raises(queue.TurnsClosed) as refused:
            give_turn("787-555-0999", now=moment)
        assert refused.value.code == code and refused.value.next_opening == opens
        given = db.session.scalar(sa.select(sa.func.count()).select_from(Turn))
        assert given == (2 if setup in ("capacity", "two_waiting") else 0)


def test_the_closed_message_names_the_next_opening_in_the_citizens_language(client, seeded, clock):
    clock.now = local("2031-07-04", "10:00")
    page = text(client.get(f"/turns/{SERVICE}"))
    assert "Hoy no se dan turnos (Día de la Independencia)." in page
    assert "viernes" not in page and "lunes, 7 de julio de 2031" in page
    response = client.post(
        f"/turns/{SERVICE}",
        data={"name": "Ana Rivera", "phone": "787-555-0100", "reason": "x", "language": "es"},
    )
    assert response.status_code == 409 and 'name="phone"' not in text(response)
    client.get("/language/en")
    clock.now = local("2031-03-05", "07:15")
    assert "Turns open today at 8:00\u202fAM." in text(client.get(f"/turns/{SERVICE}"))


def test_one_turn_in_line_per_phone_number_and_service(app, client, seeded, clock):
    form = {"name": "Ana Rivera", "phone": "787-555-0100", "reason": "x", "language": "es"}
    first = client.post(f"/turns/{SERVICE}", data=form)
    assert first.status_code == 302
    again = client.post(f"/turns/{SERVICE}", data={**form, "phone": "(787) 555 0100", "name": "Otra"})
    assert again.status_code == 409 and "ya tiene un turno en fila" in text(again)
    token = first.headers["Location"].rsplit("/", 1)[1]
    assert client.post(f"/turns/status/{token}/cancel", data={"confirm": "y"}).status_code == 302
    assert client.post(f"/turns/{SERVICE}", data=form).status_code == 302  # free again once cancelled
    with app.app_context():
        rows = db.session.execute(
            sa.select(Turn.code, Turn.status, Turn.active_phone).order_by(Turn.id)
        ).all()
        assert rows == [("R-001", "cancelled", None), ("R-002", "waiting", "+17875550100")]


def test_the_database_refuses_a_second_active_turn_for_the_same_phone(app, seeded, clock):
    with app.test_request_context():
        give_turn()
        _token, token_hash = new_token()
        service = retiro()
        db.session.add(
            Turn(
                service=service,
                office_id=service.offices[0].id,
                day=dt.date(2031, 3, 5),
                number=9,
                code="R-009",
                citizen_name="X",
                citizen_phone="+17875550100",
                active_phone="+17875550100",
                status="waiting",
                status_token_hash=token_hash,
            )
        )
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()


# --- Place in line and the estimated wait -------------------------------------------------------


@pytest.mark.parametrize(
    "average, clerks, calling, ahead, expected",
    [
        (15, 1, 0, 0, (0, 5)),  # next, nobody being served: less than 5 minutes
        (15, 1, 0, 1, (10, 20)),  # one person ahead: 15 minutes → between 10 and 20
        (15, 1, 1, 2, (25, 50)),  # 2.5 services ahead: 37.5 minutes
        (12, 2, 2, 4, (20, 40)),  # (4 + 1) × 12 / 2 = 30
        (20, 3, 0, 9, (45, 75)),  # 9 × 20 / 3 = 60
    ],
)
def test_wait_is_people_ahead_times_the_average_over_the_clerks_as_a_range(
    average, clerks, calling, ahead, expected
):
    load = queue.QueueLoad(average_minutes=average, measured=True, clerks=clerks, being_called=calling)
    estimate = queue.WaitEstimate.for_people_ahead(load, ahead)
    assert (estimate.low, estimate.high) == expected


def test_the_average_is_todays_last_calls_and_the_clerks_active_recently(app, seeded, clock):
    with app.test_request_context():
        line, day = retiro_line(), dt.date(2031, 3, 5)
        load = queue.queue_load(line.service, line.office.id, day, clock.now)
        assert (load.average_minutes, load.measured, load.clerks) == (15.0, False, 1)  # the default
        ana, ben = clerk_named(), make_clerk("ben@retiro.example")
        for minutes, clerk in ((6, ana), (10, ben), (200, ana)):  # 200 counts as 60 at most
            give_turn(phones(1, start=minutes)[0])
            queue.call_next(line, clerk, now=clock.now)
            turn = db.session.scalar(sa.select(Turn).where(Turn.status == "calling"))
            queue.record_outcome(turn, clerk, "attended", now=clock.now + dt.timedelta(minutes=minutes))
        load = queue.queue_load(line.service, line.office.id, day, clock.now)
        assert load.measured and load.average_minutes == pytest.approx((6 + 10 + 60) / 3)
        assert load.clerks == 2
        later = clock.now + dt.timedelta(minutes=45)  # nobody called in the last 30 minutes
        assert queue.queue_load(line.service, line.office.id, day, later).clerks == 1


def test_positions_follow_the_line_and_move_back_goes_to_the_end_once(app, client, seeded, clock):
    with app.test_request_context():
        taken = [give_turn(phone) for phone in phones(3)]
        tokens = [t.token for t in taken]
    for position, token in enumerate(tokens, start=1):
        assert f'data-position="{position}"' in text(client.get(f"/turns/status/{token}"))
    page = text(client.get(f"/turns/status/{tokens[1]}"))
    assert "Usted es el número 2 en la fila." in page and "entre 10 y 20 minutos" in page
    assert client.post(f"/turns/status/{tokens[0]}/move-back").status_code == 302
    with app.test_request_context():
        assert [queue.position(turn_by_status_token(t)) for t in tokens] == [3, 1, 2]
    again = client.post(f"/turns/status/{tokens[0]}/move-back")
    assert again.status_code == 422 and "solo una vez" in text(again)


def test_cancelling_needs_the_box_ticked_and_frees_the_place(app, client, seeded, clock):
    with app.test_request_context():
        tokens = [give_turn(phone).token for phone in phones(2)]
    response = client.post(f"/turns/status/{tokens[0]}/cancel", data={})
    assert response.status_code == 422 and "Marque la casilla" in text(response)
    assert client.post(f"/turns/status/{tokens[0]}/cancel", data={"confirm": "y"}).status_code == 302
    page = text(client.get(f"/turns/status/{tokens[0]}"))
    assert "Este turno está cancelado." in page and "Tomar un turno nuevo" in page
    assert "Usted es la próxima persona en la fila." in text(client.get(f"/turns/status/{tokens[1]}"))
    again = client.post(f"/turns/status/{tokens[0]}/cancel", data={"confirm": "y"})
    assert again.status_code == 302  # cancelling twice is harmless


def test_unknown_and_expired_status_links_are_a_translated_404(app, client, seeded, clock):
    assert client.get("/turns/status/nope").status_code == 404
    assert client.get("/turns/status/" + "x" * 500).status_code == 404
    assert client.post("/turns/status/nope/cancel", data={"confirm": "y"}).status_code == 404
    with app.test_request_context():
        token = give_turn().token
    assert client.get(f"/turns/status/{token}").status_code == 200
    clock.now = local("2031-03-06", "09:00")  # the next day: still open, read-only and closed
    page = text(client.get(f"/turns/status/{token}"))
    assert (
        "era para el miércoles, 5 de marzo de 2031 y está cerrado" in page and "Cancelar mi turno" not in page
    )
    clock.now = local("2031-03-10", "09:00")
    response = client.get(f"/turns/status/{token}")
    assert response.status_code == 404 and "no es válido o ya venció" in text(response)


@pytest.mark.parametrize(
    "path", ["/turns/no-such-service", "/turns/certificacion-individuo", "/turns/renovacion-licencia"]
)
def test_only_phone_turn_services_give_turns(client, seeded, clock, path):
    response = client.get(path)
    assert response.status_code == 404 and "No existe un servicio con ese nombre." in text(response)


# --- The clerk's console ------------------------------------------------------------------------


def test_staff_only_see_their_own_agencys_queues(app, client, auth, clock):
    url = console_url(app)
    assert client.get("/staff/queue/").status_code == 302  # to the login page
    assert client.get(url).status_code == 302
    auth.login("clerk@dtop.demo.ventanilla.pr")
    index = text(client.get("/staff/queue/"))
    assert "Renovación de licencia de conducir" in index and "Orientación sobre retiro" not in index
    # Another agency's queue looks like no queue at all (one answer everywhere: 404).
    assert client.get(url).status_code == 404
    assert client.post(url + "/call-next").status_code == 404
    auth.logout()
    login_retiro(auth)
    index = text(client.get("/staff/queue/"))
    assert "Orientación sobre retiro" in index and "Renovación" not in index
    assert client.get(url).status_code == 200
    assert client.get("/staff/queue/99999/1").status_code == 404


def test_a_clerk_calls_next_phones_the_citizen_and_records_the_outcome(app, client, auth, clock):
    with app.test_request_context():
        tokens = [
            give_turn(phone, name=name).token
            for phone, name in zip(phones(3), ("Ana Rivera", "Benito Soto", "Carmen Díaz"), strict=True)
        ]
    url = console_url(app)
    login_retiro(auth)
    page = text(client.get(url))
    assert page.index("R-001") < page.index("R-002") < page.index("R-003")
    assert 'href="tel:+17875550100"' in page and "Llamar al siguiente" in page
    assert client.post(url + "/call-next").status_code == 302
    page = text(client.get(url))
    assert 'data-calling-turn="R-001"' in page and "Llamar al (787) 555-0100" in page
    assert "Llamar al siguiente" not in page  # one call at a time
    refused = client.post(url + "/call-next")
    assert refused.status_code == 409 and "Anote el resultado de su llamada" in text(refused)
    assert "Es su turno" in text(client.get(f"/turns/status/{tokens[0]}"))
    with app.app_context():
        first = db.session.scalar(sa.select(Turn).where(Turn.code == "R-001"))
        assert first.status == "calling" and first.clerk.email == "clerk@retiro.demo.ventanilla.pr"
    assert client.post(f"/staff/queue/turn/{first.id}/outcome", data={"outcome": "bogus"}).status_code == 422
    response = client.post(
        f"/staff/queue/turn/{first.id}/outcome",
        data={"outcome": "attended", "note": "Orientada sobre su pensión."},
    )
    assert response.status_code == 302
    again = client.post(f"/staff/queue/turn/{first.id}/outcome", data={"outcome": "attended"})
    assert again.status_code == 409  # already closed
    assert client.post("/staff/queue/turn/99999/outcome", data={"outcome": "attended"}).status_code == 404
    assert "Su turno fue atendido." in text(client.get(f"/turns/status/{tokens[0]}"))
    with app.app_context():
        first = db.session.get(Turn, first.id)
        assert (first.status, first.note, first.active_phone) == (
            "attended",
            "Orientada sobre su pensión.",
            None,
        )
        assert first.finished_at == clock.now


def test_another_agencys_clerk_cannot_record_an_outcome(app, client, auth, clock):
    with app.test_request_context():
        give_turn()
        queue.call_next(retiro_line(), clerk_named())
        turn_id = db.session.scalar(sa.select(Turn.id))
    auth.login("clerk@dtop.demo.ventanilla.pr")
    assert (
        client.post(f"/staff/queue/turn/{turn_id}/outcome", data={"outcome": "cancelled"}).status_code == 404
    )


def test_no_answer_goes_back_in_line_once_after_the_delay_then_is_missed(app, seeded, clock):
    with app.test_request_context():
        line, clerk = retiro_line(), clerk_named()
        ana, ben = give_turn(phones(1)[0]).turn, give_turn(phones(1, 200)[0]).turn
        assert queue.call_next(line, clerk, now=clock.now).id == ana.id
        queue.record_outcome(ana, clerk, "no_answer", now=clock.now)
        ana = db.session.get(Turn, ana.id)
        assert (ana.status, ana.no_answer_count, ana.active_phone) == ("no_answer", 1, "+17875550100")
        assert ana.priority_at == clock.now + dt.timedelta(minutes=10)
        assert queue.call_next(line, clerk, now=clock.now).id == ben.id  # Ana is not due yet
        queue.record_outcome(ben, clerk, "attended", now=clock.now)
        assert queue.call_next(line, clerk, now=clock.now + dt.timedelta(minutes=9)) is None
        assert queue.call_next(line, clerk, now=clock.now + dt.timedelta(minutes=10)).id == ana.id
        queue.record_outcome(db.session.get(Turn, ana.id), clerk, "no_answer", now=clock.now)
        ana = db.session.get(Turn, ana.id)
        assert (ana.status, ana.no_answer_count, ana.active_phone) == ("missed", 2, None)
        called = [m.dedupe_key for m in outbox("turn_called")]
        assert called == [f"turn:{ana.id}:called:0", f"turn:{ben.id}:called:0", f"turn:{ana.id}:called:1"]


def test_the_retry_delay_is_a_setting(app, seeded, clock):
    app.config["QUEUE_NO_ANSWER_RETRY_MINUTES"] = 3
    with app.test_request_context():
        turn, clerk = give_turn().turn, clerk_named()
        queue.call_next(retiro_line(), clerk, now=clock.now)
        queue.record_outcome(turn, clerk, "no_answer", now=clock.now)
        assert db.session.get(Turn, turn.id).priority_at == clock.now + dt.timedelta(minutes=3)


# --- SMS through the outbox ---------------------------------------------------------------------


def test_sms_when_second_in_line_and_when_called_in_the_citizens_language(app, seeded, clock):
    with app.test_request_context():
        line, clerk = retiro_line(), clerk_named()
        ana = give_turn(phones(1)[0], language="es").turn
        assert outbox() == []  # first in line: nobody to be second yet
        ben = give_turn(phones(1, 200)[0], language="en").turn
        carla = give_turn(phones(1, 300)[0], language="es").turn
        assert [(m.kind, m.turn_id) for m in outbox()] == [("turn_second", ben.id)]
        queue.call_next(line, clerk, now=clock.now)
        messages = [(m.kind, m.turn_id, m.language, m.recipient) for m in outbox()]
        assert messages == [
            ("turn_second", ben.id, "en", "+17875550200"),
            ("turn_called", ana.id, "es", "+17875550100"),
            ("turn_second", carla.id, "es", "+17875550300"),
        ]
        texts = {m.turn_id: m.body_text for m in outbox()}
        assert texts[ben.id] == "Retirement System: your turn R-002 is second in line. Please be ready."
        called = outbox("turn_called")[0].body_text
        assert "Sistema de Retiro" in called and "R-001" in called and "conteste su teléfono" in called
        queue.cancel_turn(carla, now=clock.now)
        queue.record_outcome(ana, clerk, "attended", now=clock.now)
        queue.call_next(line, clerk, now=clock.now)
        assert len(outbox("turn_second")) == 2  # nobody is told twice
        assert [m.turn_id for m in outbox("turn_called")] == [ana.id, ben.id]


def test_sms_sender_is_a_file_by_default_and_a_webhook_by_configuration(app, seeded, clock):
    from app.notifications import FileSmsSender, WebhookSmsSender, send_due, sms_sender_from_config

    assert isinstance(sms_sender_from_config({"OUTBOX_DIR": "/tmp/x"}), FileSmsSender)
    received = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        status = 200

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("Authorization"), json.loads(body)))
            self.send_response(Gateway.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app.config.update(
            SMS_WEBHOOK_URL=f"http://127.0.0.1:{server.server_port}/sms", SMS_WEBHOOK_TOKEN="s3cret"
        )
        with app.test_request_context():
            assert isinstance(sms_sender_from_config(app.config), WebhookSmsSender)
            for phone in phones(2):
                give_turn(phone)  # the second one is second in line: one SMS
            Gateway.status = 500
            report = send_due(now=clock.now + dt.timedelta(seconds=1))
            assert (report.sent, report.retried) == (0, 1)
            Gateway.status = 200
            report = send_due(now=clock.now + dt.timedelta(minutes=2))
            assert report.sent == 1
            message = outbox()[0]
            assert message.status == "sent" and message.body_text == ""  # scrubbed once sent
        authorization, body = received[-1]
        assert authorization == "Bearer s3cret"
        assert body["to"] == "+17875550101" and body["kind"] == "turn_second" and body["language"] == "es"
        assert "R-002" in body["text"] and body["id"] == message.id
        assert received[0][1]["id"] == body["id"]  # the same id on the retry: the gateway can dedupe
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_url_must_be_http():
    from app.notifications import WebhookSmsSender

    with pytest.raises(ValueError):
        WebhookSmsSender("file:///etc/passwd")


# --- In-person check-in -------------------------------------------------------------------------


def book_in_person(
    reference: str,
    name: str,
    time: str,
    office_slug: str = "cesco-san-juan",
    slug: str = "renovacion-licencia",
    day: str = "2031-03-05",
) -> Appointment:
    from app.models import Office

    service = retiro(slug)
    office = db.session.scalar(sa.select(Office).where(Office.slug == office_slug))
    start = local(day, time)
    _token, manage_hash = new_token()
    appointment = Appointment(
        reference=reference,
        service=service,
        office=office,
        start_at=start,
        end_at=start + dt.timedelta(minutes=15),
        seat=1,
        citizen_seat=1,
        status="booked",
        citizen_name=name,
        citizen_email=f"{reference.lower()}@example.com",
        citizen_phone="+17875550111",
        language="es",
        manage_token_hash=manage_hash,
    )
    db.session.add(appointment)
    db.session.commit()
    return appointment


def test_a_clerk_checks_in_booked_visitors_who_join_the_line_by_appointment_time(app, client, auth, clock):
    with app.app_context():
        late = book_in_person("DTOP-LATE22", "José Martínez", "10:30").id
        early = book_in_person("DTOP-EARLY3", "Ángela Ortiz", "09:45").id
        book_in_person("DTOP-TOMORR", "Tomás Mañana", "09:00", day="2031-03-06")
        book_in_person("DTOP-BAYAMN", "Luis Bayamón", "11:00", office_slug="cesco-bayamon")
    auth.login("clerk@dtop.demo.ventanilla.pr")
    everyone = text(client.get("/staff/queue/check-in"))
    assert "DTOP-LATE22" in everyone and "DTOP-EARLY3" in everyone and "DTOP-TOMORR" not in everyone
    by_name = text(client.get("/staff/queue/check-in?q=jose martinez"))  # no accents, any case
    assert "DTOP-LATE22" in by_name and "DTOP-EARLY3" not in by_name
    by_reference = text(client.get("/staff/queue/check-in?q=early3"))
    assert "DTOP-EARLY3" in by_reference and "DTOP-LATE22" not in by_reference
    assert "Ninguna cita por registrar coincide" in text(client.get("/staff/queue/check-in?q=" + "%25_" * 80))

    response = client.post(f"/staff/queue/check-in/{late}")
    assert response.status_code == 302
    console = response.headers["Location"]
    assert client.post(f"/staff/queue/check-in/{early}").status_code == 302
    again = client.post(f"/staff/queue/check-in/{late}")
    assert again.status_code == 409 and "ya se registró" in text(again)
    page = text(client.get(console))
    assert page.index("Ángela Ortiz") < page.index("José Martínez")  # by appointment time, not arrival
    assert "Cita a las 9:45" in page
    with app.app_context():
        turns = db.session.scalars(sa.select(Turn).order_by(Turn.priority_at)).all()
        assert [(t.code, t.appointment_id, t.active_phone) for t in turns] == [
            ("R-002", early, None),
            ("R-001", late, None),
        ]
        assert db.session.get(Appointment, late).status == "checked_in"
    assert client.post(console + "/call-next").status_code == 302
    with app.app_context():
        called = db.session.scalar(sa.select(Turn).where(Turn.status == "calling"))
        assert called.appointment_id == early
        sms = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "turn_called"))
        assert "pase al mostrador de CESCO San Juan" in sms.body_text
    client.post(f"/staff/queue/turn/{called.id}/outcome", data={"outcome": "attended"})
    with app.app_context():
        assert db.session.get(Appointment, early).status == "completed"
    auth.logout()
    login_retiro(auth)
    assert client.post(f"/staff/queue/check-in/{late}").status_code == 404
    assert "DTOP-LATE22" not in text(client.get("/staff/queue/check-in"))


def checked_in_and_called(clock, time: str = "11:30") -> tuple[Appointment, Turn, Staff]:
    """A booked in-person visitor with reminders pending, checked in and called by a CESCO clerk."""
    from app import notifications

    clerk = clerk_named("clerk@dtop.demo.ventanilla.pr")
    appointment = book_in_person("DTOP-VISIT7", "Marta Vélez", time)
    notifications.queue_appointment_messages(appointment, None, "http://localhost/manage/t")
    db.session.commit()
    turn = queue.check_in(appointment, clerk, now=clock.now)
    line = queue.queue_for(turn.service_id, turn.office_id)
    assert queue.call_next(line, clerk, now=clock.now).id == turn.id
    return appointment, turn, clerk


def pending_kinds(appointment: Appointment) -> set[str]:
    """What is still to be sent about the appointment, besides the booking's own confirmation."""
    return set(
        db.session.scalars(
            sa.select(OutboxMessage.kind).where(
                OutboxMessage.appointment_id == appointment.id,
                OutboxMessage.status == "pending",
                OutboxMessage.kind != "confirmation",
            )
        )
    )


def test_a_visitor_closed_from_the_queue_ends_like_one_closed_from_the_panel(app, seeded, clock):
    from app.models import AuditEvent

    with app.test_request_context():
        appointment, turn, clerk = checked_in_and_called(clock)
        assert {"reminder_1h"} <= pending_kinds(appointment)
        queue.record_outcome(turn, clerk, "attended", now=clock.now)
        appointment = db.session.get(Appointment, appointment.id, populate_existing=True)
        assert (appointment.status, appointment.outcome) == ("completed", "completed")
        assert appointment.citizen_seat is None and appointment.seat == 1  # place given back, time used
        assert pending_kinds(appointment) == {"outcome"}  # reminders dropped, the outcome e-mail queued
        audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "appointment.outcome"))
        assert (audit.object_id, audit.actor_staff_id, audit.detail) == (
            appointment.id,
            clerk.id,
            {"outcome": "completed"},
        )


def test_a_cancelled_turn_cancels_the_checked_in_appointment_and_frees_both_seats(app, seeded, clock):
    with app.test_request_context():
        appointment, turn, clerk = checked_in_and_called(clock)
        queue.record_outcome(turn, clerk, "cancelled", now=clock.now)
        appointment = db.session.get(Appointment, appointment.id, populate_existing=True)
        assert appointment.status == "cancelled" and appointment.outcome is None
        assert (appointment.seat, appointment.citizen_seat) == (None, None)
        assert pending_kinds(appointment) == set()


def test_check_in_refuses_other_days_and_video_services(app, seeded, clock):
    with app.test_request_context():
        clerk = clerk_named("clerk@dtop.demo.ventanilla.pr")
        tomorrow = book_in_person("DTOP-TOMORR", "Tomás", "09:00", day="2031-03-06")
        with pytest.raises(queue.TurnError, match="Solo se pueden registrar las citas de hoy"):
            queue.check_in(tomorrow, clerk, now=clock.now)
        video = book_in_person(
            "DTOP-VIDEO2", "Vera", "11:00", office_slug="cesco-remoto", slug="certificacion-individuo"
        )
        with pytest.raises(queue.TurnError):
            queue.check_in(video, clerk, now=clock.now)
        with pytest.raises(queue.TurnError):
            queue.check_in(tomorrow, clerk_named(), now=local("2031-03-06", "08:00"))  # another agency


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form, status",
    [
        ({}, 422),
        ({"name": "Ana Rivera", "phone": "12", "reason": "x", "language": "es"}, 422),
        ({"name": "Ana Rivera", "phone": "787-555-0100", "reason": "x" * 501, "language": "es"}, 422),
        ({"name": "Ana Rivera", "phone": "787-555-0100" * 10, "reason": "x", "language": "es"}, 422),
        ({"name": "Ana Rivera", "phone": "787-555-0100", "reason": "x", "language": "fr"}, 422),
        ({"name": "\x00" * 3, "phone": "\x00", "reason": "\x00", "language": "\x00"}, 422),
    ],
)
def test_bad_input_gets_a_translated_4xx_never_a_500(client, seeded, clock, form, status):
    response = client.post(f"/turns/{SERVICE}", data=form)
    assert response.status_code == status
    assert "Corrija lo siguiente" in text(response)


def test_bad_staff_input_gets_a_4xx(app, client, auth, clock):
    login_retiro(auth)
    url = console_url(app)
    assert client.post(url + "/call-next").status_code == 302  # nobody waiting: a message
    assert "Nadie está esperando en esta fila." in text(client.get(url))
    assert client.get("/staff/queue/abc/1").status_code == 404
    assert client.get("/staff/queue/1/99999").status_code == 404
    assert client.post("/staff/queue/check-in/99999").status_code == 404
    assert client.get("/staff/queue/check-in?q=" + "é" * 5000).status_code == 200


# --- Live updates over Socket.IO ----------------------------------------------------------------


def test_the_turns_namespace_lets_in_only_a_status_token_or_the_agencys_clerks(app, client, auth, clock):
    from app.extensions import socketio
    from app.turns.events import NAMESPACE

    with app.test_request_context():
        token = give_turn().token
        line = retiro_line()
        queue_auth = {"service": line.service.id, "office": line.office.id}

    def connects(auth_payload, flask_client=None) -> bool:
        sio = socketio.test_client(
            app, namespace=NAMESPACE, auth=auth_payload, flask_test_client=flask_client
        )
        connected = sio.is_connected(NAMESPACE)
        if connected:
            sio.disconnect(NAMESPACE)
        return connected

    assert connects({"token": token})
    for refused in (
        None,
        {},
        {"token": "nope"},
        {"token": token, "room": "staff:1:1"},
        {"room": "x"},
        queue_auth,
        {"service": "1", "office": "1"},
        "token",
    ):
        assert not connects(refused), refused
    auth.login("clerk@dtop.demo.ventanilla.pr")
    assert not connects(queue_auth, client)  # another agency
    auth.logout()
    login_retiro(auth)
    assert connects(queue_auth, client)
    assert not connects({"service": line.service.id, "office": 99999}, client)


@pytest.mark.clock(tick=True)
def test_a_refused_connection_to_the_turns_namespace_is_told_why(live_server):
    raw = RawSocket(live_server.url)
    assert raw.connect("/turns", {"token": "nope"}) == '4/turns,{"message":"unauthorized"}'
    assert raw.closed_by_server()  # refused everywhere it asked: the connection goes too


def test_a_call_pushes_turn_and_queue_updates(app, client, auth, clock):
    from app.extensions import socketio
    from app.turns.events import NAMESPACE

    with app.test_request_context():
        first, second = give_turn(phones(1)[0]), give_turn(phones(1, 200)[0])
        line = retiro_line()
    citizen = socketio.test_client(app, namespace=NAMESPACE, auth={"token": first.token})
    neighbour = socketio.test_client(app, namespace=NAMESPACE, auth={"token": second.token})
    login_retiro(auth)
    clerk = socketio.test_client(
        app,
        namespace=NAMESPACE,
        flask_test_client=client,
        auth={"service": line.service.id, "office": line.office.id},
    )
    for sio in (citizen, neighbour, clerk):
        sio.get_received(NAMESPACE)
    client.post(f"/staff/queue/{line.service.id}/{line.office.id}/call-next")
    assert {(e["name"], json.dumps(e["args"])) for e in citizen.get_received(NAMESPACE)} == {
        ("queue-updated", "[{}]"),
        ("turn-updated", '[{"status": "calling"}]'),
    }
    assert [e["name"] for e in neighbour.get_received(NAMESPACE)] == ["queue-updated"]
    assert [e["name"] for e in clerk.get_received(NAMESPACE)] == ["queue-updated"]
    for sio in (citizen, neighbour, clerk):
        sio.disconnect(NAMESPACE)


# --- Translations -------------------------------------------------------------------------------


# --- Wording ------------------------------------------------------------------------------------


def test_one_minute_is_singular_on_the_console(app, client, auth, clock):
    app.config["QUEUE_NO_ANSWER_RETRY_MINUTES"] = 1
    with app.app_context():
        retiro().slot_minutes = 1
        db.session.commit()
    with app.test_request_context():
        give_turn()
    login_retiro(auth)
    assert client.post(console_url(app) + "/call-next").status_code == 302  # shows the retry hint
    page = text(client.get(console_url(app)))
    assert "1 minutos" not in page
    assert "el estimado usa 1 minuto por turno" in page and "después de 1 minuto;" in page
    english = text(client.get(console_url(app), headers={"Accept-Language": "en"}))
    assert "1 minutes" not in english and "the estimate uses 1 minute per turn" in english


def test_after_a_no_answer_the_wait_and_the_retry_time_agree_in_one_clean_sentence(
    app, client, seeded, clock
):
    with app.test_request_context():
        taken = give_turn()
        queue.call_next(retiro_line(), clerk_named(), now=clock.now)
        queue.record_outcome(taken.turn, clerk_named(), "no_answer", now=clock.now)
    page = text(client.get(f"/turns/status/{taken.token}"))
    assert "10:10\u202fa.\u202fm." in page  # the retry, ten minutes from now
    assert "m.." not in page  # "a. m." ends the sentence with its own period
    assert "menos de 5 minutos" not in page and "entre 10 y 15 minutos" in page
    english = text(client.get(f"/turns/status/{taken.token}", headers={"Accept-Language": "en"}))
    assert "between 10 and 15 minutes" in english
