"""The zoo's version, at the bottom of the house: any layer may read it without importing the API surface."""
__version__ = "0.1.0"
