"""Matrix: the bot's session, its cross-signed identity, trust in advisers' devices."""
