"""Reaching addresses a calendar names (official pages for go-live checks): ``guard`` says
which addresses may be reached (no internal ones, allow-listed hosts), ``fetch`` reaches them
with the vetted address pinned and time and size capped."""
