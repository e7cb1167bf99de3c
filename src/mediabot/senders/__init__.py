"""Delivering media to Telegram: one `Sender` per case, chosen by `registry.sender_for`."""
