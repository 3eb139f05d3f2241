"""The Telegram channel: python-telegram-bot, private chats only, choices as inline buttons.

Nothing is imported here, so that loading one module of the channel does not load
them all (python-telegram-bot is only loaded when the channel is on).
"""
