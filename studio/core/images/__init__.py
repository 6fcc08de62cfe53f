"""Images in: decoding and validation, hashing, thumbnails, and the importer."""
