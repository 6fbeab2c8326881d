"""Example third-party deq plugin (see plugin.py)."""
