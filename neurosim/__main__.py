"""``python -m neurosim`` runs the CLI."""

import sys

from neurosim.cli import main

sys.exit(main())
