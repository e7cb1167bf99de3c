"""Delivering media to Telegram: one `Sender` per case.

Downloaded files get theirs from `registry.make_sender` (keyed by kind, fit and arity),
remote sources cut as they stream from `registry.make_stream_sender`, and file ids already
on Telegram go through `cached.CachedSender` directly.
"""
