"""elvkit: the helper library of the Embodied Learning and Vision course.

Students import it from the assignment notebooks. It holds what every
assignment needs -- devices and seeding, data, geometry, metrics, pictures and
the visible tests' comparisons -- and never the solution of an exercise.

Modules: :mod:`elvkit.device`, :mod:`elvkit.data`, :mod:`elvkit.geometry`,
:mod:`elvkit.metrics`, :mod:`elvkit.viz`, :mod:`elvkit.testing`,
:mod:`elvkit.baselines`.
"""

from .device import budget, deterministic, device, seed_everything, smoke, to_numpy

__version__ = "0.1.0"

__all__ = ["device", "seed_everything", "deterministic", "to_numpy", "smoke", "budget", "__version__"]
