"""The built-in architectures, one module each family; each module registers its descriptors
(:func:`studio.core.training.architectures.register`) when imported."""
