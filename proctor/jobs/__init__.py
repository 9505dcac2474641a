"""Scheduled jobs inside ``proctor serve``: what runs when (``registry``), the slot
arithmetic (``schedule``), the SQL lock and record of runs (``runs``), the loop (``runner``)."""
