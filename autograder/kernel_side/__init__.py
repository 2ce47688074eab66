"""What runs inside a student's kernel under the grader: the recorder of the student's functions
(:mod:`.capture`), the guard (:mod:`.guard`) and the record format (:mod:`.records`, which the grader
also reads).

The trust boundary: nothing here decides a score, and nothing here imports from the grader's side of
``autograder`` (the grader's modules import the record format from here, never the other way round).
"""
