"""Recording market data to Parquet and reading it back.

The format and its columns: :mod:`pmarb.recording.schema` and ``pmarb/recording/README.md``.
Writing: :mod:`pmarb.recording.writer` (and :mod:`pmarb.recording.recorder` for the live
service); reading: :func:`pmarb.recording.reader.open_recording`. This package module imports
nothing, so the settings can load without polars.
"""
