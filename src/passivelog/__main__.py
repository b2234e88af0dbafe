import sys

from passivelog.cli import main

sys.exit(main())
