"""Edge AI Vision Studio: from a pile of images to an image classifier that runs in the browser."""

__version__ = "0.1.0"
APP_NAME = "Edge AI Vision Studio"
