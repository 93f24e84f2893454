"""python -m lit_hw.experiments.theory: run the theory checks and print their results as JSON."""

import json

from lit_hw.experiments.theory import run_all

print(json.dumps(run_all(), indent=2))
