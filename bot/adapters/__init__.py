"""Channel adapters: platform events in, Reply actions out. No conversation logic."""
