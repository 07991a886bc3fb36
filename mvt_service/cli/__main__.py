"""``python -m mvt_service.cli`` is ``mvt``."""

import sys

from mvt_service.cli import main

sys.exit(main())
