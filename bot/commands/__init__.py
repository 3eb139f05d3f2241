"""The commands an admin or adviser runs, one module per command group
(the argument wiring is in ``bot/cli.py``)."""
