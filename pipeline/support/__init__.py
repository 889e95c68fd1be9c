"""Small helpers every layer may use: atomic and bounded file access, the disk cache, per-call
deadlines, call-id checks and safe display of untrusted text. They import nothing else of callqa
but ``pipeline.errors``.
"""
