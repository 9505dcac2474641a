"""Exams: the exam model and its data forensics."""
