"""Course catalog (Art. 6, 7): courses, lessons and enrolment (Art. 11); special training classes."""
