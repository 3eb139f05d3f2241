"""A bureau's client organisations: their folders, their files, the config each runs
with, and adding, suspending and removing them.

- ``folders``: where an organisation's file, key, data and texts live
- ``registry``: reading the organisations, and the config one of them runs with
- ``lifecycle``: ``vertrouwd org add|list|suspend|remove``'s work
"""
