"""The run families, one object each (``base.Family``): ``plain`` (one policy; Joint is configured
from a population and runs as one), ``single`` and ``gpo``. These are the only places in the
harness that know a family by name; everything else asks the family object a run's
``RunSpec`` carries. A new family is one file here, and one line below.
"""

from bench.runs.families.base import CostParts, Family, Request
from bench.runs.families.gpo import GPOFamily
from bench.runs.families.plain import Joint, Plain
from bench.runs.families.single import Single

PLAIN, JOINT, SINGLE, GPO = Plain(), Joint(), Single(), GPOFamily()
FAMILIES = (PLAIN, JOINT, SINGLE, GPO)

__all__ = ["FAMILIES", "GPO", "JOINT", "PLAIN", "SINGLE", "CostParts", "Family", "Request"]
