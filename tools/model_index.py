"""Collect the configs' metafiles into the model index, docs/model_zoo.md and the README's model-zoo rows:
``python tools/model_index.py`` writes them; ``--check`` exits 1 when any is out of date (the tests run it)."""
import argparse
import sys
from pathlib import Path

from zoo.model_zoo.collect import generate

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="Only report files that are out of date.")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generate(ROOT).items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        print("out of date (run `python tools/model_index.py`): " + ", ".join(str(p.relative_to(ROOT)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
