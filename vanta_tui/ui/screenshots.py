"""`make screenshots`: SVGs of the real app on a temp copy of the demo, at fixed sizes."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from vanta_tui.demo.bundled import write_demo
from vanta_tui.ui.app import VantaApp


async def _shoot(out: Path, name: str, size: tuple[int, int]) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        write_demo(state)
        app = VantaApp(state, operator="demo")
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            app.sub_title = "state/"  # the temp path would differ on every run
            await pilot.pause()
            path = out / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(out))
            return path


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    print(asyncio.run(_shoot(out, "main", (120, 40))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
