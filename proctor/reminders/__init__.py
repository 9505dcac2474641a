"""Reminders and to-do lists: what waits for whom, told in the product and outside it."""
