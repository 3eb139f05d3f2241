"""The store's file in the data folder, by name.

It is named here, not in bot/runtime.py which opens it: the key guard, backup and the
commands need the name too, and the runtime imports the key guard (a name taken from
the runtime would make an import cycle).
"""

from __future__ import annotations

STORE_FILE = "vertrouwd.sqlite3"
