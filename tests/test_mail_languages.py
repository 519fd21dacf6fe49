"""Mail in each member's language, read from a real SMTP server on loopback (aiosmtpd): the words, the dates
in the group's time zone and the money as the member's language writes them (1.234,50 € in Spanish), the
group's language for a member who chose none, and the HTML part naming its language and direction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fedgroup import actions, store
from fedgroup.rules.campaigns import parse_goal
from tests.smtp_catcher import SmtpCatcher
from tests.test_mail import _clock_at, add_member, arrivals


@pytest.fixture
def smtp() -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher().start()
    yield catcher
    catcher.stop()


async def test_each_member_is_mailed_in_their_language_with_dates_and_money_formatted_for_it(
    make_server, smtp
):
    clock = _clock_at(datetime(2030, 3, 4, 9, 0, tzinfo=UTC))
    server = await make_server(
        app_options={"clock": clock}, default_language="hi", timezone="Asia/Kolkata", **smtp.settings
    )
    runtime = server.runtime
    ana = await add_member(runtime, "Ana", "ana@mail.test", kinds=["new_campaign", "closing"])
    await add_member(runtime, "Ravi", "ravi@mail.test", kinds=["new_campaign"])
    await runtime.db.write(store.members.set_language, ana, "es")  # Ravi keeps the group's (Hindi)
    deadline = clock() + timedelta(days=3)
    campaign_id = await actions.create_campaign(
        runtime,
        "Fondo de la cocina",
        "Para la olla común.",
        goals=[parse_goal("money:2000:EUR")],
        deadline=deadline,
    )

    [new_es] = await arrivals(smtp, 1, to="ana@mail.test")
    [new_hi] = await arrivals(smtp, 1, to="ravi@mail.test")
    assert new_es.subject.endswith("nueva campaña: Fondo de la cocina")
    # The deadline in the group's zone (Asia/Kolkata: 09:00 UTC three days on is 14:30 there), in each language.
    assert "Los compromisos se cierran el 7 de marzo de 2030, 14:30 (Asia/Kolkata)." in new_es.text()
    assert "संकल्प 7 मार्च 2030, 14:30 (Asia/Kolkata) को बंद होंगे।" in new_hi.text()
    assert "नया अभियान: Fondo de la cocina" in new_hi.subject
    assert new_es.message["Content-Language"] == "es" and new_hi.message["Content-Language"] == "hi"
    assert '<html lang="es" dir="ltr">' in new_es.html()
    assert "Darse de baja: " in new_es.text() and "सदस्यता छोड़ें: " in new_hi.text()

    await actions.pledge(runtime, ana, campaign_id, kind="money", amount=Decimal("1234.5"))
    clock.advance(timedelta(days=2))  # a day before the deadline: the closing notice, with the money so far
    [_, closing] = await arrivals(smtp, 2, to="ana@mail.test")
    assert "y aún no alcanza su meta" in closing.subject
    assert "Hasta ahora: 1.234,50\u00a0€ de 2.000\u00a0€." in closing.text()
    assert "Hasta ahora: 1.234,50\u00a0€ de 2.000\u00a0€." in closing.html()


async def test_a_password_reset_in_arabic_reads_right_to_left(make_server, smtp):
    server = await make_server(default_language="ar", **smtp.settings)
    await add_member(server.runtime, "Laila", "laila@mail.test")
    await actions.mail_password_reset(server.runtime, "laila@mail.test")
    [mail] = await arrivals(smtp, 1)
    assert "اختر كلمة مرور جديدة" in mail.subject
    assert "يعمل هذا الرابط مرة واحدة، لمدة ساعتين:" in mail.text()
    assert '<html lang="ar" dir="rtl">' in mail.html()
