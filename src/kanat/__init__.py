"""Kanat: production, MRO hub and technology transfer for licensed UAV fleets.

Importing this package does not import Django: the computational core
(``kanat.engine``, ``kanat.flightlogs``) is usable without settings.
"""

__version__ = "0.1.0"
