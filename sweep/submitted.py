"""The job side of `sweep submit`: `python -m sweep.submitted [--storage S] [--resume]` runs
`sweep run` on the spec text that came with the job (`sweep.jobs.SPEC_ENV`)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from sweep.cli import main
from sweep.errors import EXIT_BAD_INPUT
from sweep.jobs import SPEC_ENV, SPEC_NAME_ENV


def run_submitted(argv: list[str]) -> int:
    """Write the job's spec text to a temp file and `sweep run` it with `argv`."""
    text = os.environ.get(SPEC_ENV)
    if text is None:
        print(f"error: ${SPEC_ENV} is not set; this entrypoint is for `sweep submit` jobs",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    name = Path(os.environ.get(SPEC_NAME_ENV) or "spec.yaml").name
    with tempfile.TemporaryDirectory(prefix="xs-spec-") as folder:
        path = Path(folder) / name
        path.write_text(text, encoding="utf-8")
        return main(["run", str(path), *argv])


if __name__ == "__main__":
    sys.exit(run_submitted(sys.argv[1:]))
