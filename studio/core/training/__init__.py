"""Training: architectures, augmentation, data pipelines, the loop, the pretrained backbone."""
