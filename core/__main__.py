import sys

from .openmp import wait_briefly

wait_briefly()  # before torch loads

from .cli import main  # noqa: E402

sys.exit(main())
