"""The heartbeat tracker: the server decides how much verified attention a session earned."""
