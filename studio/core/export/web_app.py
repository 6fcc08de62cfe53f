"""What makes a web bundle an installable, offline web app: the manifest, its icons and the service worker.

The service worker precaches every file of the bundle. Its cache is named after the bundle's version, the
hash of the bundle's metadata (which lists the hash of every other file), and ``sw.js`` carries that
version, so a new export is a new ``sw.js``: the browser installs it, it fills a new cache and deletes the
old one. ``sw.js`` itself is then hashed into the metadata like every other file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from studio.core.export import web_runtime
from studio.core.export.bundle_folder import METADATA

MANIFEST = "manifest.webmanifest"
SERVICE_WORKER = "sw.js"
THEME_COLOR = "#3b5bdb"       # the page's accent (style.css --accent)
BACKGROUND_COLOR = "#f4f6fb"  # the page's background (style.css --bg), shown while the app starts


def page_title(title: str | None, labels: list[str]) -> str:
    """The page's title: the user's own, else the class names ("Flower, temple or trees")."""
    if title and title.strip():
        return " ".join(title.split())[:80]
    names = list(labels[:4]) + ([f"{len(labels) - 4} more"] if len(labels) > 4 else [])
    text = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)
    return text[:1].upper() + text[1:]


def write_manifest(folder: Path, title: str, icons: list[Path]) -> list[str]:
    """Copy the icons into ``icons/`` and write the web app manifest; returns the files written."""
    (folder / web_runtime.ICON_DIR).mkdir(exist_ok=True)
    entries, written = [], []
    for size, source in zip(web_runtime.ICON_SIZES, icons):
        rel = f"{web_runtime.ICON_DIR}/{web_runtime.icon_name(size)}"
        shutil.copyfile(source, folder / rel)
        written.append(rel)
        entries.append({"src": rel, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"})
    manifest = {
        "name": title,
        "short_name": title if len(title) <= 12 else title[:12].rstrip(),
        "description": f"{title}: an image classifier that runs entirely in your browser, offline.",
        "id": "./",
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": entries,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(MANIFEST)
    return written


def bundle_version(metadata: dict[str, Any]) -> str:
    """The hash of the bundle's metadata, which lists the hash of every other file."""
    return hashlib.sha256(json.dumps(metadata, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def write_service_worker(folder: Path, metadata: dict[str, Any], template: Path | None = None) -> str:
    """Write ``sw.js`` precaching every file in ``folder`` and metadata.json (written next); returns the
    bundle version it carries."""
    template = template or web_runtime.service_worker_template()
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} | {METADATA}
    files = sorted(files - {SERVICE_WORKER})
    version = bundle_version(metadata)
    text = template.read_text(encoding="utf-8")
    for placeholder, value in (('"__VERSION__"', json.dumps(version)), ('["__FILES__"]', json.dumps(files))):
        if placeholder not in text:
            raise web_runtime.WebRuntimeMissing(f"{template} has no {placeholder} placeholder")
        text = text.replace(placeholder, value)
    (folder / SERVICE_WORKER).write_text(text, encoding="utf-8")
    return version
