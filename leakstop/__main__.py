import sys

from leakstop.cli import main

sys.exit(main())
