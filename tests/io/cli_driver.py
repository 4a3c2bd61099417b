"""Run many ``neurosim`` command lines in one process; used by the CLI fuzz and corpus tests.

Usage: ``python cli_driver.py CASES.json PROGRESS`` where CASES.json is a list
of ``{"name": str, "argv": [str, ...], "cwd": str}``. Before each case its
name is appended to PROGRESS (so a crash names the case that caused it); the
results go to stdout as one JSON list of ``{"name", "rc", "stderr"}``. A
segmentation fault kills this process with a signal, which the calling test
sees as a negative return code: a failure, never a hang or a pass.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys


def _one(argv: list[str]) -> tuple[int, str]:
    from neurosim.cli import main

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:  # noqa: BLE001 - reported as a failure by the test
            import traceback

            traceback.print_exc(file=err)
            rc = f"raised {type(exc).__name__}"
    return rc, err.getvalue()


def main() -> None:
    cases = json.loads(open(sys.argv[1]).read())
    progress = sys.argv[2]
    results = []
    for case in cases:
        with open(progress, "a") as fh:
            fh.write(case["name"] + "\n")
        os.chdir(case["cwd"])
        rc, err = _one(case["argv"])
        results.append({"name": case["name"], "rc": rc, "stderr": err})
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
