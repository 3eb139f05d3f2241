"""The texts the bot says: loaded from ``locales/``, validated, reloaded while running."""
