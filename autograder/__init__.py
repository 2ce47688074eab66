"""The instructors' and TAs' side of the course toolkit.

Building releases from the solution scripts (``elv release``), grading batches
of submissions (``elv grade``), and the demo class (``elv demo``). Students
never need this package; nothing in it is released to them.
"""
