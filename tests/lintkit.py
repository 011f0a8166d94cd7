"""Helpers for linter tests: a valid base calendar, and a way to mutate it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from worker.analysis import analyze_text
from worker.config import load_config

FIXTURES = Path(__file__).parent / "fixtures"
NOW = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone.utc)

BASE = """\
calendar:
  id: test-ayudas
  title: {es: Ayudas al comercio, ca: Ajudes al comerç}
  department: promocion
  timezone: Europe/Madrid
  languages: [es, ca]
  holidays:
    region: ES-VC
    local:
      - {date: 2027-06-24, name: Sant Joan}
  sources: [https://sede.example.org/ayudas]
  hashtags: ["#Test"]
facts:
  publicacion: 2027-03-12
  plazo_inicio: {from: publicacion, calendar_days: 1}
  plazo_fin:
    from: publicacion
    business_days: 20
    label: {es: el plazo de solicitud, ca: el termini de sol·licitud}
  importe: {value: "3.000 €"}
periods:
  solicitudes: {opens: plazo_inicio, closes: plazo_fin}
entries:
  - id: anuncio
    for: solicitudes
    role: announcement
    at: "2027-03-10 10:00"
    accounts: [x:ayto-test, facebook:ayto-test]
    text:
      es: "Ayudas de hasta {{ importe }} para el comercio local. Solicitudes hasta el {{ plazo_fin }}."
      ca: "Ajudes de fins a {{ importe }} per al comerç local. Sol·licituds fins al {{ plazo_fin }}."
    link: https://sede.example.org/ayudas
  - id: abierto
    kind: golive
    check_contains: "Solicitud de ayudas al comercio"
    for: solicitudes
    at: {on: plazo_inicio, time: "09:00"}
    accounts: [x:ayto-test]
    text:
      es: "Ya está abierto el plazo de solicitud de las ayudas al comercio."
      ca: "Ja està obert el termini de sol·licitud de les ajudes al comerç."
  - id: recordatorio
    for: solicitudes
    role: reminder
    at: {before: plazo_fin, days: 3, time: "10:00"}
    accounts: [x:ayto-test, bluesky:ayto-test]
    text:
      es: "Quedan tres días: el plazo termina el {{ plazo_fin }}."
      ca: "Queden tres dies: el termini acaba el {{ plazo_fin }}."
"""


def config():
    return load_config(FIXTURES / "config")


def lint(text: str, now: dt.datetime = NOW):
    """Findings of ``text`` as a calendar, with the fixture config."""
    return analyze_text(text, config(), now, path="cal.yaml")


def codes(text: str, now: dt.datetime = NOW) -> set[str]:
    return {f.code for f in lint(text, now).findings}


def replace(old: str, new: str, text: str = BASE) -> str:
    assert old in text, f"mutation target not found: {old!r}"
    return text.replace(old, new, 1)
