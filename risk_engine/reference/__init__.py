"""The shipped reference data pack: loaders, normalisers and manifest."""
