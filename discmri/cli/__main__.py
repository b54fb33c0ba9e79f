"""``python -m discmri.cli``."""

import sys

from . import main

sys.exit(main())
