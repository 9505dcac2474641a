"""The org tree and its liaisons."""
