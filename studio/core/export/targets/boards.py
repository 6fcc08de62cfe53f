"""Microcontroller boards and whether a model fits them: flash and RAM needed vs available.

Needed flash = the model's bytes + :data:`RUNTIME_FLASH`; needed RAM = the tensor arena measured by TensorFlow
Lite Micro + the frame buffer + :data:`RUNTIME_RAM`. The two allowances stand for TensorFlow Lite Micro's
kernels, the board's core and the sketch; they are typical sizes of the library's image examples, not measured
here (that needs each board's toolchain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

KB = 1024
MB = 1024 * KB
RUNTIME_FLASH = 200 * KB
RUNTIME_RAM = 48 * KB


@dataclass(frozen=True)
class Board:
    name: str
    flash: int     # program flash, bytes
    ram: int       # RAM the tensor arena can use, bytes
    note: str = ""


# Smallest first: the first board is the one a "fits the smallest board" check means.
BOARDS: tuple[Board, ...] = (
    Board("Arduino Nano 33 BLE Sense", 1 * MB, 256 * KB, "nRF52840"),
    Board("Raspberry Pi Pico", 2 * MB, 264 * KB, "RP2040"),
    Board("Raspberry Pi Pico 2", 4 * MB, 520 * KB, "RP2350"),
    Board("Arduino Nicla Vision", 2 * MB, 1 * MB, "STM32H747, camera on board"),
    Board("ESP32-S3 with 8 MB PSRAM", 8 * MB, 8 * MB, "e.g. Seeed XIAO ESP32S3 Sense; the arena in PSRAM"),
)


@dataclass(frozen=True)
class Need:
    model_bytes: int
    arena_bytes: int
    frame_bytes: int

    @property
    def flash(self) -> int:
        return self.model_bytes + RUNTIME_FLASH

    @property
    def ram(self) -> int:
        return self.arena_bytes + self.frame_bytes + RUNTIME_RAM

    def fits(self, board: Board) -> bool:
        return self.flash <= board.flash and self.ram <= board.ram


def fitting(need: Need, boards: Sequence[Board] = BOARDS) -> list[Board]:
    return [b for b in boards if need.fits(b)]


def size_text(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / KB:.0f} kB"


def table(need: Need, boards: Sequence[Board] = BOARDS) -> list[dict[str, object]]:
    """One row per board: what it has, what the model needs, whether it fits."""
    return [{**asdict(b), "flash_needed": need.flash, "ram_needed": need.ram, "fits": need.fits(b)} for b in boards]


def table_text(need: Need, boards: Sequence[Board] = BOARDS) -> str:
    """The table in Markdown, for the sketch folder's BOARDS.md."""
    lines = ["| Board | Flash needed / has | RAM needed / has | Fits |", "|---|---|---|---|"]
    for b in boards:
        lines.append(f"| {b.name} ({b.note}) | {size_text(need.flash)} / {size_text(b.flash)} | "
                     f"{size_text(need.ram)} / {size_text(b.ram)} | {'yes' if need.fits(b) else 'no'} |")
    return "\n".join(lines) + "\n"
