"""``python -m elvkit.data [list | download [PREFIX] | pins]``: the real data sets."""

from __future__ import annotations

import argparse
import sys

from .registry import _read_pins, available, download_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m elvkit.data", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("list", help="registered files and whether they are cached")
    dl = sub.add_parser("download", help="download registered files (for offline machines)")
    dl.add_argument("prefix", nargs="?", default="", help="only names starting with this")
    sub.add_parser("pins", help="hashes recorded at first download, in registry.toml's format")
    args = parser.parse_args(argv)
    if args.command in (None, "list"):
        for row in available():
            mark = "cached" if row["cached"] else "      "
            print(f"{mark}  {row['name']:45s} {row['check']}")
    elif args.command == "download":
        for path in download_all(args.prefix):
            print(path)
    elif args.command == "pins":
        for name, sha in sorted(_read_pins().items()):
            print(f'["{name}"]\nsha256 = "{sha}"\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
