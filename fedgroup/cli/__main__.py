"""`python -m fedgroup.cli`: the `fedgroup` command."""

import sys

from fedgroup.cli import main

sys.exit(main())
