"""`python -m advisor rank ...`: see advisor/cli.py."""

import sys

from advisor.cli import main

sys.exit(main())
