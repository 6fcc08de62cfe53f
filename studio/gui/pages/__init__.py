"""One module per step of the sidebar: images, augment, train, evaluate, export."""
