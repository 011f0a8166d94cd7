"""The calendars of the stories, as a town's editors write them (Spanish and Valencian)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.scenarios.town import local
from tests.twins.base import png_bytes


def write_image(schedules: Path) -> None:
    """The poster, committed next to the calendar: a real image the adapters upload."""
    (schedules / "img").mkdir(parents=True, exist_ok=True)
    (schedules / "img" / "cartel.png").write_bytes(png_bytes(4, 3))


def ayudas(*, announce_at: dt.datetime, plazo_fin: dt.date, sesion: dt.datetime,
           accounts: list[str], feed: str | None, golive_at: dt.datetime | None = None,
           check_url: str = "https://sede.villa.example/ayudas/solicitud",
           check_contains: str = "Presentar solicitud") -> str:
    """Youth rent grants: a deadline stated once as a fact, an announcement with a poster on
    every network, an information session in the agenda, a reminder three days before the
    deadline, and optionally a go-live post when the application form opens."""
    social = ", ".join(accounts)
    golive = "" if golive_at is None else f"""
  - id: ya-abierto
    kind: golive
    category: procedure
    at: "{local(golive_at)}"
    accounts: [{social}]
    check_url: {check_url}
    check_contains: "{check_contains}"
    text:
      es: "Ya puedes presentar tu solicitud de ayuda al alquiler joven, hasta el {{{{ plazo_fin }}}}."
      ca: "Ja pots presentar la teua sol·licitud d'ajuda al lloguer jove, fins al {{{{ plazo_fin }}}}."
    images: *cartel
"""
    event = "" if feed is None else f"""
  - id: sesion-informativa
    kind: event
    category: event
    at: "{local(announce_at)}"
    accounts: [{feed}]
    text:
      es: "Sesión informativa sobre las ayudas al alquiler joven."
      ca: "Sessió informativa sobre les ajudes al lloguer jove."
    event:
      start: sesion
      end: sesion_fin
      title: {{es: "Sesión informativa: ayudas al alquiler", ca: "Sessió informativa: ajudes al lloguer"}}
      place: {{es: "Casa de Cultura", ca: "Casa de Cultura"}}
      description:
        es: "Resolvemos dudas antes de que acabe el plazo, el {{{{ plazo_fin }}}}."
        ca: "Resolem dubtes abans que acabe el termini, el {{{{ plazo_fin }}}}."
"""
    return f"""# Ayudas al alquiler joven: el plazo se escribe una sola vez, como hecho.
calendar:
  id: villa-ayudas
  title: {{es: "Ayudas al alquiler joven", ca: "Ajudes al lloguer jove"}}
  department: comunicacion
  timezone: Europe/Madrid
  languages: [es, ca]
  sources: [https://sede.villa.example/ayudas]

facts:
  plazo_fin:
    date: {plazo_fin.isoformat()}   # BOP
    label: {{es: "el plazo de solicitud", ca: "el termini de sol·licitud"}}
  sesion:
    datetime: "{sesion.strftime('%Y-%m-%d %H:%M')}"
  sesion_fin:
    datetime: "{(sesion + dt.timedelta(hours=2)).strftime('%Y-%m-%d %H:%M')}"

entries:
  - id: anuncio
    category: procedure
    # the poster goes with every post (Instagram takes no post without an image)
    at: "{local(announce_at)}"
    accounts: [{social}]
    text:
      es: "Ayudas al alquiler joven: solicitudes hasta el {{{{ plazo_fin | weekday }}}} {{{{ plazo_fin | long }}}}."
      ca: "Ajudes al lloguer jove: sol·licituds fins al {{{{ plazo_fin | weekday }}}} {{{{ plazo_fin | long }}}}."
    images: &cartel
      - file: img/cartel.png
        url: https://sede.villa.example/img/cartel.jpg
        alt: {{es: "Cartel de las ayudas al alquiler joven", ca: "Cartell de les ajudes al lloguer jove"}}

  - id: recordatorio
    category: procedure
    at: {{before: plazo_fin, days: 3, time: "10:00"}}
    accounts: [{social}]
    text:
      es: "Quedan tres días: el plazo acaba el {{{{ plazo_fin }}}}."
      ca: "Queden tres dies: el termini acaba el {{{{ plazo_fin }}}}."
    images: *cartel
{event}{golive}"""
