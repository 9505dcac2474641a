"""Hot state of live sessions: Redis in production, an in-process store when embedded."""
