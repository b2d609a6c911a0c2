"""The demo database: `kanat demo` loads it into an empty database, once.

Public ANKA figures come from ../shared/reference/programme.md; everything that is
not public (part numbers, intervals, operators' names, serials) is invented and
marked so wherever the UI shows it.
"""
