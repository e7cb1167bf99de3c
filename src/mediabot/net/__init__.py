"""Outbound network plumbing shared by the downloaders and the media tools: the guard proxy."""
