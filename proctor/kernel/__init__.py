"""The kernel: what every feature stands on and nothing of the domain.

Settings, the per-process resources, management authority, the error hierarchy, JSON,
personal-data security, the academy calendar, identity numbers, spreadsheets and the SVG
chart frame. Modules here import nothing of proctor outside the kernel.
"""
