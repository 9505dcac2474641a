"""Studying a lesson: starting tracked sessions and turning completions into credits."""
