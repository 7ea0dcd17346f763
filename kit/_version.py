"""kit's version, in a leaf of its own: the package face, the wisdom, records and ``kit --version`` read it.

Examples
--------
>>> from kit._version import __version__
>>> __version__.count(".") >= 1
True
"""

__version__ = "0.1.0"
