"""Learning records in xAPI: verified study and exam results, sent to a Learning Record Store.

Pure statement building (``coverage``, ``statements``, ``academy``) over plain data read
from SQL (``sources``); a durable outbox (``outbox``) between the scan that enqueues
(``export``) and the delivery that sends (``delivery``, ``lrs``). See docs/xapi.md.
"""
