"""Availability: hours, holidays, closures, lead time, horizon, DST, seats from the database."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from app import scheduling
from app.extensions import db
from app.models import Agency, Appointment, Closure, Office, OpeningHours, Service
from app.security import new_reference
from app.tokens import new_token
from tests.support.clock import local

PR = ZoneInfo("America/Puerto_Rico")
NY = ZoneInfo("America/New_York")
UTC = dt.UTC
NINE_TO_FIVE = [(dt.time(8), dt.time(17))]


def test_slots_fill_the_opening_hours_and_stop_before_closing():
    starts = scheduling.slot_starts(dt.date(2031, 3, 4), NINE_TO_FIVE, 20, PR)
    assert len(starts) == 27  # 9 hours of 20-minute slots
    assert starts[0] == dt.datetime(2031, 3, 4, 12, 0, tzinfo=UTC)  # 08:00 AST = 12:00 UTC
    assert starts[-1].astimezone(PR).time() == dt.time(16, 40)


def test_a_slot_that_does_not_fit_before_closing_is_left_out():
    starts = scheduling.slot_starts(dt.date(2031, 3, 4), [(dt.time(8), dt.time(9, 10))], 30, PR)
    assert [s.astimezone(PR).time() for s in starts] == [dt.time(8), dt.time(8, 30)]


def test_split_shifts_give_slots_in_both_intervals():
    intervals = [(dt.time(13), dt.time(14)), (dt.time(8), dt.time(9))]
    starts = scheduling.slot_starts(dt.date(2031, 3, 4), intervals, 30, PR)
    assert [s.astimezone(PR).hour for s in starts] == [8, 8, 13, 13]


def test_local_times_stay_put_across_daylight_saving_time():
    summer = scheduling.slot_starts(dt.date(2031, 7, 1), NINE_TO_FIVE, 60, NY)
    winter = scheduling.slot_starts(dt.date(2031, 1, 7), NINE_TO_FIVE, 60, NY)
    assert summer[0] == dt.datetime(2031, 7, 1, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert winter[0] == dt.datetime(2031, 1, 7, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_the_spring_forward_gap_has_no_slots():
    # 9 March 2031: New York clocks jump from 02:00 to 03:00.
    starts = scheduling.slot_starts(dt.date(2031, 3, 9), [(dt.time(1), dt.time(4))], 30, NY)
    local = [s.astimezone(NY).strftime("%H:%M") for s in starts]
    assert local == ["01:00", "01:30", "03:00", "03:30"]
    assert len(set(starts)) == len(starts)


def test_the_fall_back_day_keeps_one_slot_per_wall_clock_time():
    starts = scheduling.slot_starts(dt.date(2031, 11, 2), [(dt.time(0), dt.time(3))], 60, NY)
    assert [s.astimezone(NY).strftime("%H:%M") for s in starts] == ["00:00", "01:00", "02:00"]


@pytest.mark.parametrize(
    "day, spanish, english",
    [
        (dt.date(2031, 1, 6), "Día de Reyes", "Epiphany"),
        (dt.date(2031, 7, 25), "Día de la Constitución de Puerto Rico", "Puerto Rico Constitution Day"),
        (dt.date(2031, 12, 25), "Navidad", "Christmas Day"),
    ],
)
def test_puerto_rico_holidays_are_named_in_both_languages(app, day, spanish, english):
    with app.test_request_context():
        with force_locale("es"):
            assert scheduling.holiday_name(day) == spanish
        with force_locale("en"):
            assert scheduling.holiday_name(day) == english


def test_an_observed_holiday_says_so(app):
    with app.test_request_context(), force_locale("es"):
        # 4 July 2026 is a Saturday: observed on Friday the 3rd.
        assert scheduling.holiday_name(dt.date(2026, 7, 3)) == "Día de la Independencia (feriado observado)"


def test_every_holiday_name_the_package_gives_has_a_translation():
    names = set()
    for year in range(2026, 2036):
        for name in scheduling._pr_holidays(year).values():
            names.update(part.removesuffix(scheduling.OBSERVED_SUFFIX) for part in name.split("; "))
    assert names <= set(scheduling.HOLIDAY_NAMES)


def test_closures_win_over_holidays_and_plain_days_are_open(app):
    with app.test_request_context(), force_locale("es"):
        closures = {dt.date(2031, 3, 5): "Inventario"}
        assert (
            scheduling.closed_reason(dt.date(2031, 3, 5), observes_holidays=True, closures=closures)
            == "Inventario"
        )
        assert (
            scheduling.closed_reason(dt.date(2031, 3, 4), observes_holidays=True, closures=closures) is None
        )
        assert scheduling.closed_reason(dt.date(2031, 12, 25), observes_holidays=False, closures={}) is None


# --- With the database ----------------------------------------------------------------------------


@pytest.fixture
def ctx(app, seeded):
    with app.test_request_context():
        yield


def service(slug="certificacion-individuo"):
    return db.session.scalar(sa.select(Service).where(Service.slug == slug))


TUESDAY = dt.date(2031, 3, 4)
MONDAY_BEFORE = dt.datetime(2031, 3, 3, 12, 0, tzinfo=UTC)  # 08:00 in Puerto Rico


def test_weekdays_have_slots_and_weekends_none(ctx):
    days = scheduling.available_days(service(), dt.date(2031, 3, 7), 3, now=MONDAY_BEFORE)
    friday, saturday, sunday = days
    assert len(friday.slots) == 27 and friday.closed_reason is None
    assert saturday.slots == [] and sunday.slots == []
    assert friday.free_seats == 27 * 2  # two seats per slot in the demo


def test_holidays_close_the_day_with_their_name(ctx):
    day = scheduling.available_days(
        service(), dt.date(2031, 7, 25), 1, now=dt.datetime(2031, 7, 1, tzinfo=UTC)
    )[0]
    assert day.slots == [] and day.closed_reason == "Día de la Constitución de Puerto Rico"


def test_an_agency_that_does_not_observe_holidays_opens(ctx):
    s = service()
    s.agency.observes_pr_holidays = False
    day = scheduling.available_days(s, dt.date(2031, 7, 25), 1, now=dt.datetime(2031, 7, 1, tzinfo=UTC))[0]
    assert len(day.slots) == 27


def test_one_off_closures_for_an_office_or_the_whole_agency(ctx):
    s = service("renovacion-licencia")
    san_juan, bayamon = s.offices
    db.session.add_all(
        [
            Closure(
                agency_id=s.agency_id,
                office_id=san_juan.id,
                first_day=TUESDAY,
                last_day=TUESDAY,
                reason_es="Fumigación",
                reason_en="Fumigation",
            ),
            Closure(
                agency_id=s.agency_id,
                office_id=None,
                first_day=TUESDAY + dt.timedelta(days=1),
                last_day=TUESDAY + dt.timedelta(days=1),
                reason_es="Adiestramiento",
            ),
        ]
    )
    db.session.commit()
    tuesday, wednesday = scheduling.available_days(s, TUESDAY, 2, now=MONDAY_BEFORE)
    assert {slot.office_id for slot in tuesday.slots} == {bayamon.id}
    assert tuesday.closed_reason is None
    assert wednesday.slots == [] and wednesday.closed_reason == "Adiestramiento"


def test_lead_time_hides_slots_that_start_too_soon(ctx):
    s = service()  # two hours of lead time
    now = dt.datetime(2031, 3, 4, 13, 5, tzinfo=UTC)  # 09:05 in Puerto Rico
    first = scheduling.available_days(s, TUESDAY, 1, now=now)[0].slots[0]
    assert first.start.astimezone(PR).time() == dt.time(11, 20)


def test_nothing_is_offered_past_the_horizon(ctx):
    s = service()  # 30 days
    days = scheduling.available_days(s, dt.date(2031, 4, 1), 3, now=MONDAY_BEFORE)
    assert [bool(d.slots) for d in days] == [True, True, False]  # 2 April is day 30, 3 April day 31


def test_taken_seats_come_from_the_database(ctx):
    s = service()
    start = dt.datetime(2031, 3, 4, 13, 0, tzinfo=UTC)
    for seat in (1, 2):
        db.session.add(
            Appointment(
                reference=new_reference("DTOP"),
                service=s,
                office=s.offices[0],
                start_at=start,
                end_at=start + dt.timedelta(minutes=20),
                seat=seat,
                citizen_name="A",
                citizen_email=f"{seat}@x.pr",
                citizen_phone="+17875550100",
                manage_token_hash=new_token()[1],
            )
        )
    db.session.commit()
    day = scheduling.available_days(s, TUESDAY, 1, now=MONDAY_BEFORE)[0]
    full = next(slot for slot in day.slots if slot.start == start)
    assert full.remaining == 0 and full not in day.free_slots
    assert day.free_seats == 27 * 2 - 2


def test_find_slot_accepts_only_real_slot_starts(ctx):
    s = service()
    office = s.offices[0]
    assert scheduling.find_slot(s, office, dt.datetime(2031, 3, 4, 13, 0, tzinfo=UTC), now=MONDAY_BEFORE)
    assert (
        scheduling.find_slot(s, office, dt.datetime(2031, 3, 4, 13, 7, tzinfo=UTC), now=MONDAY_BEFORE) is None
    )
    assert (
        scheduling.find_slot(s, office, dt.datetime(2031, 3, 8, 13, 0, tzinfo=UTC), now=MONDAY_BEFORE) is None
    )


def test_nearest_free_slots_are_the_closest_in_time(ctx):
    s = service()
    start = dt.datetime(2031, 3, 4, 13, 0, tzinfo=UTC)
    near = scheduling.nearest_free_slots(s, start, now=MONDAY_BEFORE)
    assert [abs(slot.start - start) for slot in near] == [dt.timedelta(minutes=20)] * 2 + [
        dt.timedelta(minutes=40)
    ]


def test_an_agency_in_a_dst_zone_books_at_local_time(ctx):
    agency = Agency(slug="nyc", name_es="NY", name_en="NY", timezone="America/New_York")
    office = Office(
        agency=agency,
        slug="main",
        name_es="Principal",
        name_en="Main",
        hours=[OpeningHours(weekday=d, opens_at=dt.time(9), closes_at=dt.time(10)) for d in range(5)],
    )
    s = Service(
        agency=agency,
        slug="nyc-visit",
        name_es="Visita",
        name_en="Visit",
        mode="in_person",
        slot_minutes=30,
        capacity_per_slot=1,
        lead_time_minutes=0,
        horizon_days=400,
        offices=[office],
    )
    db.session.add(s)
    db.session.commit()
    now = dt.datetime(2031, 1, 1, tzinfo=UTC)
    winter = scheduling.available_days(s, dt.date(2031, 3, 7), 1, now=now)[0]  # Friday, EST
    summer = scheduling.available_days(s, dt.date(2031, 3, 10), 1, now=now)[0]  # Monday, EDT
    assert [slot.start.hour for slot in winter.slots] == [14, 14]
    assert [slot.start.hour for slot in summer.slots] == [13, 13]


# --- At the instants that used to be fragile ------------------------------------------------------
# The test clock stands at each instant (`@pytest.mark.clock`), and the scheduling functions are
# called without `now=`: they read the clock as they do in production. The same three instants
# run the whole suite with VENTANILLA_TEST_NOW (README, Tests).

LEAD_TIME_SERVICES = {  # slug: (lead time, slot length) in the demo data
    "certificacion-individuo": (120, 20),
    "renovacion-licencia": (60, 15),
    "seguimiento-caso-cfse": (240, 30),
}


@dataclass(frozen=True)
class Moment:
    now: dt.datetime  # the clock, aware
    today: dt.date  # in Puerto Rico
    first: dict[str, dt.datetime]  # slug: the first bookable slot's start
    refused: dict[str, dt.datetime]  # slug: a slot start that is not bookable at `now`
    days: list[
        tuple[dt.date, bool, str | None]
    ]  # the video service's days from today: (day, open, why closed)
    last_day: dt.date  # the video service's horizon


def pr(moment: str) -> dt.datetime:
    """'2031-03-05 09:59:59' in Puerto Rico, as aware UTC."""
    day, time = moment.split(" ")
    return local(day, time)


MOMENTS = [
    Moment(  # the 12:00 video slot reaches its lead time at 10:00:00, the 11:00 in-person one too
        now=pr("2031-03-05 09:59:59"),
        today=dt.date(2031, 3, 5),
        first={
            "certificacion-individuo": pr("2031-03-05 12:00"),
            "renovacion-licencia": pr("2031-03-05 11:00"),
            "seguimiento-caso-cfse": pr("2031-03-05 14:00"),
        },
        refused={
            "certificacion-individuo": pr("2031-03-05 11:40"),
            "renovacion-licencia": pr("2031-03-05 10:45"),
            "seguimiento-caso-cfse": pr("2031-03-05 13:30"),
        },
        days=[(dt.date(2031, 3, 5), True, None), (dt.date(2031, 3, 6), True, None)],
        last_day=dt.date(2031, 4, 4),
    ),
    Moment(  # exactly at the boundary the slot is still bookable: it starts at now + lead time
        now=pr("2031-03-05 10:00:00"),
        today=dt.date(2031, 3, 5),
        first={
            "certificacion-individuo": pr("2031-03-05 12:00"),
            "renovacion-licencia": pr("2031-03-05 11:00"),
            "seguimiento-caso-cfse": pr("2031-03-05 14:00"),
        },
        refused={
            "certificacion-individuo": pr("2031-03-05 11:40"),
            "renovacion-licencia": pr("2031-03-05 10:45"),
            "seguimiento-caso-cfse": pr("2031-03-05 13:30"),
        },
        days=[(dt.date(2031, 3, 5), True, None)],
        last_day=dt.date(2031, 4, 4),
    ),
    Moment(  # one second later it is gone, and the next slot of each service is the first
        now=pr("2031-03-05 10:00:01"),
        today=dt.date(2031, 3, 5),
        first={
            "certificacion-individuo": pr("2031-03-05 12:20"),
            "renovacion-licencia": pr("2031-03-05 11:15"),
            "seguimiento-caso-cfse": pr("2031-03-05 14:30"),
        },
        refused={
            "certificacion-individuo": pr("2031-03-05 12:00"),
            "renovacion-licencia": pr("2031-03-05 11:00"),
            "seguimiento-caso-cfse": pr("2031-03-05 14:00"),
        },
        days=[(dt.date(2031, 3, 5), True, None)],
        last_day=dt.date(2031, 4, 4),
    ),
    Moment(  # Friday 16:55: nothing more this week; Monday 08:00 for every service
        now=pr("2031-03-07 16:55"),
        today=dt.date(2031, 3, 7),
        first={slug: pr("2031-03-10 08:00") for slug in LEAD_TIME_SERVICES},
        refused={
            "certificacion-individuo": pr("2031-03-07 16:40"),  # Friday's last slot
            "renovacion-licencia": pr("2031-03-08 10:00"),  # Saturday
            "seguimiento-caso-cfse": pr("2031-03-09 10:00"),  # Sunday
        },
        days=[
            (dt.date(2031, 3, 7), False, None),
            (dt.date(2031, 3, 8), False, None),
            (dt.date(2031, 3, 9), False, None),
            (dt.date(2031, 3, 10), True, None),
        ],
        last_day=dt.date(2031, 4, 6),
    ),
    Moment(  # Friday 16:55 before Martin Luther King Jr. Day: Tuesday 08:00
        now=pr("2031-01-17 16:55"),
        today=dt.date(2031, 1, 17),
        first={slug: pr("2031-01-21 08:00") for slug in LEAD_TIME_SERVICES},
        refused={slug: pr("2031-01-20 10:00") for slug in LEAD_TIME_SERVICES},  # the holiday
        days=[
            (dt.date(2031, 1, 17), False, None),
            (dt.date(2031, 1, 18), False, None),
            (dt.date(2031, 1, 19), False, None),
            (dt.date(2031, 1, 20), False, "Martin Luther King Jr. Day"),
            (dt.date(2031, 1, 21), True, None),
        ],
        last_day=dt.date(2031, 2, 16),
    ),
    Moment(  # 23:59 on 31 December: already 2032 in UTC; New Year's Day closed; Friday 2 January
        now=pr("2031-12-31 23:59"),
        today=dt.date(2031, 12, 31),
        first={slug: pr("2032-01-02 08:00") for slug in LEAD_TIME_SERVICES},
        refused={slug: pr("2032-01-01 10:00") for slug in LEAD_TIME_SERVICES},  # the holiday
        days=[
            (dt.date(2031, 12, 31), False, None),
            (dt.date(2032, 1, 1), False, "New Year's Day"),
            (dt.date(2032, 1, 2), True, None),
            (dt.date(2032, 1, 3), False, None),
            (dt.date(2032, 1, 4), False, None),
            (dt.date(2032, 1, 5), True, None),
            (dt.date(2032, 1, 6), False, "Epiphany"),
            (dt.date(2032, 1, 7), True, None),
        ],
        last_day=dt.date(2032, 1, 30),
    ),
]


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(
            m, marks=pytest.mark.clock(at=m.now), id=m.now.astimezone(PR).strftime("%a-%Y-%m-%dT%H:%M:%S")
        )
        for m in MOMENTS
    ],
)
def test_what_can_be_booked_at_the_instants_that_used_to_be_fragile(ctx, clock, moment):
    assert clock.now == moment.now
    with force_locale("en"):
        for slug, (lead_minutes, slot_minutes) in LEAD_TIME_SERVICES.items():
            s = service(slug)
            assert (s.lead_time_minutes, s.slot_minutes) == (lead_minutes, slot_minutes)
            today = scheduling.today_for(s)
            assert today == moment.today
            window = scheduling.booking_window(s, clock.now, PR)
            assert window.earliest == moment.now + dt.timedelta(minutes=lead_minutes)

            days = scheduling.available_days(s, today, 10)
            first = next(slot for day in days for slot in day.free_slots)
            assert first.start == moment.first[slug], slug
            office = db.session.get(Office, first.office_id)
            assert scheduling.find_slot(s, office, moment.first[slug]) == first
            assert scheduling.find_slot(s, office, moment.refused[slug]) is None, slug

        video = service("certificacion-individuo")
        days = scheduling.available_days(video, moment.today, len(moment.days))
        assert [(d.day, bool(d.free_slots), d.closed_reason) for d in days] == moment.days
        assert scheduling.booking_window(video, clock.now, PR).last_day == moment.last_day
        last = scheduling.available_days(video, moment.last_day, 2)
        assert last[1].slots == []  # the day after the horizon offers nothing, whatever its weekday
