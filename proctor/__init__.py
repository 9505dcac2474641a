"""proctor: the attendance, anti-fraud and learning-management application."""
