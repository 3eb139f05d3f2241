"""Where confirmed intakes are delivered: the adviser's inbox (local) or Matrix room."""
