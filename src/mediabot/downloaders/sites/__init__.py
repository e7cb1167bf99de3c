"""One module a site: its `Downloader` subclass, its links and its test URLs.

The registry (`downloaders.registry`) imports every module here and takes the downloader
classes each defines: adding a site is adding its module. A class marked `fallback`
(`generic.py`) goes last.
"""
