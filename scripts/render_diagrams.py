"""Draw every process in processes/ as an SVG for docs/processes/ (from the BPMN's own DI).

    python scripts/render_diagrams.py [--out docs/processes]

Run it after changing a diagram; the pages in docs/processes/ embed <process id>.svg.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import compat, diagram  # noqa: E402
from engine.services.deploy import collect_files  # noqa: E402


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--out", type=Path, default=ROOT / "docs" / "processes")
    args = options.parse_args()
    bundle = compat.load_bundle(collect_files([ROOT / "processes"]))
    for process_id, process in sorted(bundle.processes.items()):
        target = args.out / f"{process_id}.svg"
        target.write_text(diagram.render_svg(process.bpmn.content, process_id), encoding="utf-8")
        print(f"drew {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
