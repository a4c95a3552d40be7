"""``python -m service`` is the ``lifecycle-sync`` command."""

import sys

from service.cli import main

sys.exit(main())
