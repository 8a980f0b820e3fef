"""`python -m devhost`: see `devhost.cli`."""

from __future__ import annotations

import sys

from devhost.cli import main

sys.exit(main())
