"""Clips: a part of a source fetched by its index, cut without re-encoding (`cut_clip`)."""
