"""The line after a handoff: relays both ways, the adviser's desk, timers, terms."""
