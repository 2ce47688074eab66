"""What a grading run leaves for people: grades.csv, the summary and the HTML report (:mod:`.report`),
per-student feedback pages (:mod:`.feedback`), and Gradescope's files (:mod:`.gradescope`)."""
