"""The ``pregonero`` command and its subcommands."""
