"""What operators and editors run beside the engine: the demo town, rehearsals, the agenda,
the citizen's view of each network and the yearly report. Nothing here is on the engine's
path: the engine never imports ``ops``."""
