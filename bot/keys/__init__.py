"""Keys and sealing: the key file, field encryption, rotation, and the guard that
never makes a new key over existing data."""
