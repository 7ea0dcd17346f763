"""``python -m kit.targets``: the engine's performance targets."""

import sys

from kit.targets import main

sys.exit(main())
