"""The studio's pages, declared once: the window builds its sidebar, page stack and View menu from this list,
the Getting Started guide its steps, and the shortcut sheet its "switch page" row.

A new page is one :class:`PageSpec` here (and its module under ``studio/gui/pages``, its icon under
``resources/icons/<name>.svg``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    name: str      # window.pages.<name>; the icon resources/icons/<name>.svg
    title: str     # sidebar and View menu
    page: str      # "module:Class", imported when the window is built
    help: str      # the Getting Started step (HTML, one paragraph)

    @property
    def shortcut(self) -> str:
        return f"Ctrl+{PAGES.index(self) + 1}"

    def page_class(self) -> type:
        module, cls = self.page.split(":")
        return getattr(importlib.import_module(module), cls)


PAGES: tuple[PageSpec, ...] = (
    PageSpec("images", "Images", "studio.gui.pages.images_page:ImagesPage",
             "Drop a folder onto the window (a folder with one subfolder per class is labelled by folder name), "
             "or use <i>Import</i> or the <i>Camera</i>. To label, select images and press the key shown beside "
             "a class, or just type the class name and press Enter (a new name adds the class). Drag images onto "
             "a class works too. Aim for 30 or more images per class."),
    PageSpec("augment", "Augment", "studio.gui.pages.augment_page:AugmentPage",
             "(optional). See how the training images are varied (small shifts, zoom, lighting) so the model "
             "copes with new pictures. The recommended preset is already chosen; the Train page uses it when its "
             "<i>Vary the training images</i> box is ticked (it is, when your classes are small)."),
    PageSpec("train", "Train", "studio.gui.pages.train_page:TrainPage",
             "Press <i>Train</i>. The model and settings are chosen from your images, and training stops by "
             "itself when it stops improving. Warnings tell you when there are too few images."),
    PageSpec("evaluate", "Evaluate", "studio.gui.pages.evaluate_page:EvaluatePage",
             "See how well the model does on test images it never trained on, which classes it confuses, and the "
             "images behind each mistake (fix a wrong label right there)."),
    PageSpec("export", "Export", "studio.gui.pages.export_page:ExportPage",
             "Write the web bundle and press <i>Preview in browser</i>: the page classifies your webcam or "
             "pictures, entirely in the browser, offline."),
)


def page_spec(name: str) -> PageSpec:
    return next(p for p in PAGES if p.name == name)


def switch_shortcut_row() -> tuple[str, str]:
    """The shortcut sheet's row for switching pages, e.g. ("Ctrl+1 … Ctrl+5", "Images, Augment, …")."""
    return (f"{PAGES[0].shortcut} … {PAGES[-1].shortcut}", ", ".join(p.title for p in PAGES))
