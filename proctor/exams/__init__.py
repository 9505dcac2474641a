"""Online exams: banks, server-timed attempts, invigilation and post-exam forensics."""
