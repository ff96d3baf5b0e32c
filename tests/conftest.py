"""Suite-wide set-up: run nbgrader and Jupyter from this venv, quietly."""

import os
import sys
from pathlib import Path

# nbgrader shells out to alembic: the venv's bin/ must be on PATH even when pytest is run
# directly rather than through `make test`.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
