"""Conversation flows: pure functions of (stored conversation, one inbound) to a step."""
