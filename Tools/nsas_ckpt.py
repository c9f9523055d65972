#!/usr/bin/env python3
"""Runs the checkpoint reader (the `nsas_ckpt` package in python/) from the repository without
installing it: `Tools/nsas_ckpt.py FILE` prints a JSON summary. To import it, `pip install ./python`
(or put python/ on sys.path)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from nsas_ckpt import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
