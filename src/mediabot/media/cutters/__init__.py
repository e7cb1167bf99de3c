"""The cutters: a source cut into playable parts under a byte limit, without re-encoding."""
