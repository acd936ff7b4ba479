"""``python -m baocao``: the command line."""

import sys

from baocao.cli import main

if __name__ == "__main__":
    sys.exit(main())
