"""`vertrouwd init`: from nothing to a config, its secrets and its rooms, then `doctor`."""
