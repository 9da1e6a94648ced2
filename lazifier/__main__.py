import sys

from lazifier.cli import main

sys.exit(main())
