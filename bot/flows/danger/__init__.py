"""The danger detector: hears danger in whatever words a person uses. Pure.

Nothing is imported here: each module is imported by its own name.
"""
