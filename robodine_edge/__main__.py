"""`python -m robodine_edge` is the `robodine-edge` command."""

import sys

from robodine_edge.cli import main

sys.exit(main())
