"""Small helpers with no knowledge of the domain: locks, waking, files, failures."""
