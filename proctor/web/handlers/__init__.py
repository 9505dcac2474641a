"""Thin handlers: parse, call a service function, render."""
