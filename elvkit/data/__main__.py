"""``python -m elvkit.data [list | download [PREFIX] | hash [NAME ...]]``: the real data sets."""

from __future__ import annotations

import argparse
import sys

from .registry import available, cache_dir, download_all, file_sha256, registry


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m elvkit.data", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("list", help="registered files and whether they are cached")
    dl = sub.add_parser("download", help="download registered files (for offline machines)")
    dl.add_argument("prefix", nargs="?", default="", help="only names starting with this")
    hs = sub.add_parser("hash", help="the sha256 of cached files, in registry.toml's format, to commit there "
                                     "(run it on copies you trust)")
    hs.add_argument("names", nargs="*", help="registered names (default: every cached file the registry has no "
                                             "sha256 for)")
    args = parser.parse_args(argv)
    if args.command in (None, "list"):
        registry()                                   # no registry: say where it should be, not an empty list
        for row in available():
            mark = "cached" if row["cached"] else "      "
            print(f"{mark}  {row['name']:45s} {row['check']}")
    elif args.command == "download":
        for path in download_all(args.prefix):
            print(path)
    elif args.command == "hash":
        table = registry()
        names = args.names or [r["name"] for r in available() if r["cached"] and not r["sha256"]]
        for name in names:
            if name not in table:
                print(f"{name!r} is not in the data registry", file=sys.stderr)
                return 2
            path = cache_dir() / name
            if not path.is_file():
                print(f"{name} is not cached ({path}): download it first", file=sys.stderr)
                return 2
            print(f'["{name}"]\nsha256 = "{file_sha256(path)}"\n')
    return 0


if __name__ == "__main__":
    sys.exit(main())
