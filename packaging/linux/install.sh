#!/bin/sh
# Adds Edge AI Vision Studio to the current user's application menu (no root needed).
# Run it from the unpacked app folder:  ./install.sh      Remove the menu entry:  ./install.sh --uninstall
# The app itself stays where it is; move the folder first if you want it elsewhere, then run this again.
set -eu

ID=edge-ai-vision-studio
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-"$HOME/.local/share"}
APPS="$DATA/applications"
ICONS="$DATA/icons/hicolor/scalable/apps"

refresh() {
    # Optional desktop caches; menus also pick the files up without them.
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$APPS/$ID.desktop" "$ICONS/$ID.svg"
    refresh
    printf 'removed %s\n' "$APPS/$ID.desktop"
    exit 0
fi

if [ ! -x "$HERE/EdgeAIVisionStudio" ]; then
    echo "install.sh: $HERE/EdgeAIVisionStudio not found; run this script from the unpacked app folder" >&2
    exit 1
fi

# Desktop-entry escaping (freedesktop spec): Exec is a quoted argument inside a string value, so \ " ` $
# become \\X in the file and % becomes %%; TryExec is a plain string value (\ becomes \\). Then each is
# escaped once more for sed's replacement (\ & |).
quoted=$(printf '%s' "$HERE/EdgeAIVisionStudio" \
    | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g' -e 's/%/%%/g' -e 's/[\\&|]/\\&/g')
plain=$(printf '%s' "$HERE/EdgeAIVisionStudio" | sed -e 's/\\/\\\\/g' -e 's/[\\&|]/\\&/g')

mkdir -p "$APPS" "$ICONS"
cp "$HERE/edge-studio.svg" "$ICONS/$ID.svg"
sed -e "s|@EXEC@|\"$quoted\"|" -e "s|@TRYEXEC@|$plain|" -e "s|@ICON@|$ID|" \
    "$HERE/edge-studio.desktop" > "$APPS/$ID.desktop.part"
chmod 644 "$APPS/$ID.desktop.part"
mv "$APPS/$ID.desktop.part" "$APPS/$ID.desktop"
refresh
printf 'installed %s (runs %s)\n' "$APPS/$ID.desktop" "$HERE/EdgeAIVisionStudio"
