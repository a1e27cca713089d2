import sys

from fraudctl.cli import main

sys.exit(main())
