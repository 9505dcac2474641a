"""Exam data forensics over plain data: answer copying, response times, proxy test-takers.

Nothing here touches a database or the web: the service layer loads :class:`ItemInfo`,
:class:`AttemptRecord` and :class:`StudyHistory` values and calls :func:`analyse`.
"""
