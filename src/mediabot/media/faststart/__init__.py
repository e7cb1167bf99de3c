"""MP4 (or M4A) files with their index first, written from indexes read ahead of the samples.

A progressive file's own `moov`, or a fragmented file's `moof` headers, tell every sample's
size, time and place before any sample arrives: `index` reads them with range requests,
`cuts` plans parts at keyframes from them when the source needs parts, `layout` writes a
file's `moov` (the whole source's, or one part's) and the order of its sample data, and
`spool` fetches that data into the output while it is uploaded, so a delivery goes up while
it comes down.
"""
