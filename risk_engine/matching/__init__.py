"""Entity resolution: normalisation, blocking, comparison features, model, clustering."""
