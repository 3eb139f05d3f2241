"""The Matrix channel: employees in end-to-end encrypted direct chats with the bot.

Nothing is imported here: each module is imported by its own name.
"""
