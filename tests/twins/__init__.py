"""Platform twins: stateful, in-process stand-ins for each platform's HTTP API.

A twin keeps posts the way its platform does (edits, replies, deletions, media, windows and
quotas, taken from the platform's documentation and server sources; see ``NOTES.md``) and is
reached through the real client libraries, with HTTP intercepted underneath them. Each twin
answers one question: what does a citizen see on this account now (``visible()``)?
"""
