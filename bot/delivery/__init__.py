"""Delivering persisted queues: the shared retry loop and the outbox of handoffs."""
