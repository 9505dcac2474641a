"""Accounts: login sessions and password changes."""
