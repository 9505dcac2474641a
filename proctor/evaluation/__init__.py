"""How well detection and exam forensics do on simulated populations (`proctor evaluate`).

A development tool above the features: it drives the simulator and the detectors, and
nothing of the product imports it.
"""
