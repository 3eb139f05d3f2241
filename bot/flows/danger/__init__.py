"""The danger detector: hears danger in whatever words a person uses. Pure.

``detector.py`` matches a message against the patterns, ``patterns.py`` reads the
patterns' source language, ``words.py`` normalises words and finds them in the
lexicon (typos included). Nothing is imported here: each module by its own name.
"""
