"""``python -m kit.targets AREA [options]``: one area's performance targets (see :mod:`kit.targets`)."""

import sys

from kit.targets import main

sys.exit(main())
