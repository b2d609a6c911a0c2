"""The Django-free computational core: plain Python and numpy.

Everything here takes arrays or dataclasses and returns them. Nothing imports
Django, and the tests of this package need no database.
"""
