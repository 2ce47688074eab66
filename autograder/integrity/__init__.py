"""Every point decided in the grader's process: the judging plan and verdicts (:mod:`.judge`), hidden-test
specs and comparisons (:mod:`.specs`), the replay of visible tests (:mod:`.replay`), the reference
(:mod:`.reference`) and the static tampering scan (:mod:`.tamper`). Nothing here runs in a student's kernel.
"""
