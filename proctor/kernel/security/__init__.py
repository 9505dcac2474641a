"""Passwords, personal-data protection and tokens."""
