"""Export: the targets (TF.js, TFLite, ...), the bundle folder, the web page, the preview server."""
