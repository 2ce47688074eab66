"""How a student's kernel is confined: resource limits and the kernel launcher (:mod:`.limits`), and the
bubblewrap sandbox (:mod:`.sandbox`)."""
