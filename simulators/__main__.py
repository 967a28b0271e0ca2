"""``python -m simulators``: the same as ``vitalsd-sim``."""

import sys

from simulators.cli import main

sys.exit(main())
