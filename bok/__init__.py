"""bok: a peer-reviewed book of knowledge, kept in Git."""

__version__ = "0.1.0"
