"""The calendar language: loading YAML with positions, validating, resolving facts, rendering."""
