"""One MP4 (or M4A) with its index first, written from indexes read ahead of the samples.

A progressive file's own `moov`, or a fragmented file's `moof` headers, tell every sample's
size, time and place before any sample arrives: `index` reads them with range requests,
`layout` writes the final `moov` and the order of the sample data, and `spool` fetches that
data into the output while it is uploaded, so a one-part delivery goes up while it comes down.
"""
