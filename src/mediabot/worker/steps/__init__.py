"""The steps of one job, in the order the pipeline runs them.

claim -> (blocked chat? give up) -> resend from cache -> wait for a twin -> resend from
cache -> fetch and send (stream, else download) -> record each part -> delivered; every
failure ends in give up (or a retry), every ending in clean up. `watch` runs beside them.
"""
