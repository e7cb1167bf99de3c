"""Fragmented sources (HLS, segmented DASH): listed, fetched, decrypted, their packets read."""
